"""Data tables for the zh front end: word lists, pinyin map, traditional-to-simplified pairs.

Facts of upstream GPT-SoVITS (commit 48b1a01), re-expressed as data. Generated; edit with care.
"""

# Words whose last syllable is read with the neutral tone.
MUST_NEUTRAL = frozenset(
    """
    一辈 丈人 丈夫 上司 上头 下巴 下水 不在 不由 世故 东家 东西 两口 丧气 丫头 主意
    买卖 事情 云彩 交情 亲家 亲戚 人家 什么 介绍 休息 伙计 似的 位置 体面 作坊 佩服
    使唤 便宜 倒腾 兄弟 先生 关系 养活 冒失 冤家 冤枉 冷战 凉快 凑合 凤凰 出息 分析
    利害 利索 利落 别扭 刺激 刺猬 前头 力气 功夫 动弹 动静 勤快 匀称 包涵 包袱 千斤
    厉害 厚道 口袋 叫唤 吆喝 合同 吉他 名堂 名字 后头 吓唬 含糊 告示 告诉 和尚 咕噜
    咖喱 咳嗽 哆嗦 哈欠 哑巴 唾沫 商量 喇叭 喇嘛 喉咙 喜欢 喽啰 嘀咕 嘟囔 嘱咐 嘴巴
    困难 在乎 地方 地道 壮实 外甥 多么 多少 大人 大夫 大意 大方 大爷 太阳 头发 女婿
    奴才 妖精 妥当 妯娌 姐夫 姑娘 委屈 姥爷 娘家 婆家 媒人 媳妇 嫁妆 字号 学生 学问
    官司 实在 客气 家伙 寒碜 寡妇 对付 对头 将就 小伙 小气 少爷 尾巴 屁股 岁数 工夫
    差事 巴掌 巴结 师傅 师父 希罕 帐篷 帮手 干事 幸福 庄稼 应酬 开通 弄堂 弟兄 张罗
    得罪 心思 志气 忙活 快活 念叨 念头 怎么 思量 怪物 悟性 情形 惦记 意思 意识 懒得
    戒指 扁担 扎实 扑腾 打发 打听 打扮 打点 打算 打量 扫帚 扫把 折腾 护士 报复 抬举
    拖沓 招呼 招牌 拨弄 拳头 拾掇 指头 指甲 挑剔 挖苦 提防 收成 收拾 故事 新鲜 时候
    明白 暖和 月亮 月饼 朋友 木匠 木头 本事 机灵 枇杷 枕头 架势 柴火 栅栏 核桃 棉花
    棒槌 棺材 槟榔 模糊 欺负 正经 母亲 比方 泥鳅 活泼 浪头 消息 清楚 温和 溜达 滑溜
    漂亮 火候 灯笼 炊帚 点心 烂糊 烟筒 烧饼 热闹 照顾 熟悉 爱人 父亲 爽快 牌楼 牙碜
    牢骚 牲口 特务 状元 狐狸 玄乎 玫瑰 玻璃 琉璃 琢磨 琵琶 甘蔗 甜头 生意 畜生 疏忽
    疙瘩 疟疾 痛快 痢疾 白净 盘算 盘缠 相声 眉毛 眨巴 眯缝 眼睛 知识 石匠 石头 石榴
    码头 砚台 祖宗 福气 秀才 秀气 秧歌 称呼 稀罕 稳当 窗户 窝囊 窟窿 笑话 笑语 笤帚
    答应 算盘 算计 篱笆 簸箕 粮食 精神 糊涂 糟蹋 糨糊 累赘 红火 结实 编辑 罐头 罗嗦
    翻腾 老太 老头 老婆 老实 老爷 耳朵 耷拉 耽搁 耽误 聪明 胡同 胡琴 胡萝 胭脂 胳膊
    能耐 脊梁 脑袋 脾气 膏药 自在 舌头 舒坦 舒服 芝麻 苍蝇 苗头 苗条 荒唐 荸荠 菩萨
    萝卜 葡萄 葫芦 薄荷 蘑菇 蚂蚱 蛤蟆 蜡烛 行当 行李 街坊 衙门 衣服 衣裳 补丁 裁缝
    见识 规矩 计划 认识 记号 记性 讲究 豆腐 财主 费用 趔趄 跟头 跳蚤 踏实 转悠 软和
    过去 运气 这个 这么 连累 迷糊 造化 逻辑 道士 邋遢 那个 那么 部分 里头 里脊 钥匙
    铁匠 铃铛 铺盖 锄头 门道 闺女 阔气 队伍 难为 风筝 馄饨 馒头 首饰 马虎 骆驼 骨头
    高粱 鸳鸯 麻利 麻烦
    """.split()
)

# Words that keep their tones although they look like neutral-tone candidates.
MUST_NOT_NEUTRAL = frozenset(
    """
    人人 以下 佼佼 冉冉 分子 卵子 原子 吵吵 哈哈 女子 娃哈哈 学子 家家户户 局地 干嘛
    幺幺 恳恳 想想 打打 攘攘 数数 整整 死死 熙熙 瓜子 电子 男子 留得 石子 算子 考考
    耕地 花花草草 莘莘 莲子 落地 虎虎 袅袅 量子 青青
    """.split()
)

# Words always read with erhua (v2).
MUST_ERHUA = frozenset(
    """
    妥妥儿 媳妇儿 寻老礼儿 小院儿 撒欢儿 老汉儿 胡同儿 范儿
    """.split()
)

# Words whose final 儿 is never merged (v2).
NOT_ERHUA = frozenset(
    """
    一儿 为儿 乞儿 体弱儿 侄儿 侄孙儿 俺儿 可儿 女儿 妻儿 婴儿 婴幼儿 孙儿 孤儿 少儿
    幼儿 应采儿 患儿 我儿 护儿 拐儿 救儿 替儿 有儿 流浪儿 混血儿 狗儿 猪儿 猫儿 男儿
    瞒儿 祖儿 红孩儿 美儿 聋儿 脑瘫儿 舫儿 花儿 虐儿 虫儿 蜜雪儿 连体儿 马儿 鸟儿
    """.split()
)

# opencpop-strict: toneless pinyin = initial+final phones.
PINYIN_PHONES = dict(
    item.split("=")
    for item in """
    a=AA+a ai=AA+ai an=AA+an ang=AA+ang ao=AA+ao
    ba=b+a bai=b+ai ban=b+an bang=b+ang bao=b+ao
    bei=b+ei ben=b+en beng=b+eng bi=b+i bian=b+ian
    biao=b+iao bie=b+ie bin=b+in bing=b+ing bo=b+o
    bu=b+u ca=c+a cai=c+ai can=c+an cang=c+ang
    cao=c+ao ce=c+e cei=c+ei cen=c+en ceng=c+eng
    cha=ch+a chai=ch+ai chan=ch+an chang=ch+ang
    chao=ch+ao che=ch+e chen=ch+en cheng=ch+eng
    chi=ch+ir chong=ch+ong chou=ch+ou chu=ch+u
    chua=ch+ua chuai=ch+uai chuan=ch+uan
    chuang=ch+uang chui=ch+ui chun=ch+un chuo=ch+uo
    ci=c+i0 cong=c+ong cou=c+ou cu=c+u cuan=c+uan
    cui=c+ui cun=c+un cuo=c+uo da=d+a dai=d+ai
    dan=d+an dang=d+ang dao=d+ao de=d+e dei=d+ei
    den=d+en deng=d+eng di=d+i dia=d+ia dian=d+ian
    diao=d+iao die=d+ie ding=d+ing diu=d+iu
    dong=d+ong dou=d+ou du=d+u duan=d+uan dui=d+ui
    dun=d+un duo=d+uo e=EE+e ei=EE+ei en=EE+en
    eng=EE+eng er=EE+er fa=f+a fan=f+an fang=f+ang
    fei=f+ei fen=f+en feng=f+eng fo=f+o fou=f+ou
    fu=f+u ga=g+a gai=g+ai gan=g+an gang=g+ang
    gao=g+ao ge=g+e gei=g+ei gen=g+en geng=g+eng
    gong=g+ong gou=g+ou gu=g+u gua=g+ua guai=g+uai
    guan=g+uan guang=g+uang gui=g+ui gun=g+un
    guo=g+uo ha=h+a hai=h+ai han=h+an hang=h+ang
    hao=h+ao he=h+e hei=h+ei hen=h+en heng=h+eng
    hong=h+ong hou=h+ou hu=h+u hua=h+ua huai=h+uai
    huan=h+uan huang=h+uang hui=h+ui hun=h+un
    huo=h+uo ji=j+i jia=j+ia jian=j+ian jiang=j+iang
    jiao=j+iao jie=j+ie jin=j+in jing=j+ing
    jiong=j+iong jiu=j+iu ju=j+v jv=j+v juan=j+van
    jvan=j+van jue=j+ve jve=j+ve jun=j+vn jvn=j+vn
    ka=k+a kai=k+ai kan=k+an kang=k+ang kao=k+ao
    ke=k+e kei=k+ei ken=k+en keng=k+eng kong=k+ong
    kou=k+ou ku=k+u kua=k+ua kuai=k+uai kuan=k+uan
    kuang=k+uang kui=k+ui kun=k+un kuo=k+uo la=l+a
    lai=l+ai lan=l+an lang=l+ang lao=l+ao le=l+e
    lei=l+ei leng=l+eng li=l+i lia=l+ia lian=l+ian
    liang=l+iang liao=l+iao lie=l+ie lin=l+in
    ling=l+ing liu=l+iu lo=l+o long=l+ong lou=l+ou
    lu=l+u luan=l+uan lun=l+un luo=l+uo lv=l+v
    lve=l+ve ma=m+a mai=m+ai man=m+an mang=m+ang
    mao=m+ao me=m+e mei=m+ei men=m+en meng=m+eng
    mi=m+i mian=m+ian miao=m+iao mie=m+ie min=m+in
    ming=m+ing miu=m+iu mo=m+o mou=m+ou mu=m+u
    na=n+a nai=n+ai nan=n+an nang=n+ang nao=n+ao
    ne=n+e nei=n+ei nen=n+en neng=n+eng ni=n+i
    nian=n+ian niang=n+iang niao=n+iao nie=n+ie
    nin=n+in ning=n+ing niu=n+iu nong=n+ong nou=n+ou
    nu=n+u nuan=n+uan nun=n+un nuo=n+uo nv=n+v
    nve=n+ve o=OO+o ou=OO+ou pa=p+a pai=p+ai
    pan=p+an pang=p+ang pao=p+ao pei=p+ei pen=p+en
    peng=p+eng pi=p+i pian=p+ian piao=p+iao pie=p+ie
    pin=p+in ping=p+ing po=p+o pou=p+ou pu=p+u
    qi=q+i qia=q+ia qian=q+ian qiang=q+iang
    qiao=q+iao qie=q+ie qin=q+in qing=q+ing
    qiong=q+iong qiu=q+iu qu=q+v qv=q+v quan=q+van
    qvan=q+van que=q+ve qve=q+ve qun=q+vn qvn=q+vn
    ran=r+an rang=r+ang rao=r+ao re=r+e ren=r+en
    reng=r+eng ri=r+ir rong=r+ong rou=r+ou ru=r+u
    rua=r+ua ruan=r+uan rui=r+ui run=r+un ruo=r+uo
    sa=s+a sai=s+ai san=s+an sang=s+ang sao=s+ao
    se=s+e sen=s+en seng=s+eng sha=sh+a shai=sh+ai
    shan=sh+an shang=sh+ang shao=sh+ao she=sh+e
    shei=sh+ei shen=sh+en sheng=sh+eng shi=sh+ir
    shou=sh+ou shu=sh+u shua=sh+ua shuai=sh+uai
    shuan=sh+uan shuang=sh+uang shui=sh+ui
    shun=sh+un shuo=sh+uo si=s+i0 song=s+ong
    sou=s+ou su=s+u suan=s+uan sui=s+ui sun=s+un
    suo=s+uo ta=t+a tai=t+ai tan=t+an tang=t+ang
    tao=t+ao te=t+e tei=t+ei teng=t+eng ti=t+i
    tian=t+ian tiao=t+iao tie=t+ie ting=t+ing
    tong=t+ong tou=t+ou tu=t+u tuan=t+uan tui=t+ui
    tun=t+un tuo=t+uo wa=w+a wai=w+ai wan=w+an
    wang=w+ang wei=w+ei wen=w+en weng=w+eng wo=w+o
    wu=w+u xi=x+i xia=x+ia xian=x+ian xiang=x+iang
    xiao=x+iao xie=x+ie xin=x+in xing=x+ing
    xiong=x+iong xiu=x+iu xu=x+v xv=x+v xuan=x+van
    xvan=x+van xue=x+ve xve=x+ve xun=x+vn xvn=x+vn
    ya=y+a yan=y+En yang=y+ang yao=y+ao ye=y+E
    yi=y+i yin=y+in ying=y+ing yo=y+o yong=y+ong
    you=y+ou yu=y+v yv=y+v yuan=y+van yvan=y+van
    yue=y+ve yve=y+ve yun=y+vn yvn=y+vn za=z+a
    zai=z+ai zan=z+an zang=z+ang zao=z+ao ze=z+e
    zei=z+ei zen=z+en zeng=z+eng zha=zh+a zhai=zh+ai
    zhan=zh+an zhang=zh+ang zhao=zh+ao zhe=zh+e
    zhei=zh+ei zhen=zh+en zheng=zh+eng zhi=zh+ir
    zhong=zh+ong zhou=zh+ou zhu=zh+u zhua=zh+ua
    zhuai=zh+uai zhuan=zh+uan zhuang=zh+uang
    zhui=zh+ui zhun=zh+un zhuo=zh+uo zi=z+i0
    zong=z+ong zou=z+ou zu=z+u zuan=z+uan zui=z+ui
    zun=z+un zuo=z+uo
    """.split()
)

# Traditional characters (T2S_FROM[i]) and their simplified forms (T2S_TO[i]).
T2S_FROM = (
    "聲盤鑒點書帳記憶轉彎溝㠯㵎㼝䠶䰾魚䳘對應識兒並則為謂淨無變雞併來個國勁靈歐遊蕩樣蘿蔔側傳"
    "價論兩斷穫錢貨舊緒險動勞復蹤態氣話諾嗚紅鍋問團場塊麵塗塵廂當關萬開見師審陰難買鬥陣層風順"
    "帶過計頭載繩願彈頃徑廳長淚鑰鎖掃揮撥擁擊擲攬轍敗終時會間際經東獨桿進條龍務數總腳趨決謊準"
    "煙獲聞處鶴發鳥誠種窩窮竅筆銷殺獎節雙鵰詩籌籮紙級統絲掛維網盡線響腦脈資舉說講規貿葉滿輸號"
    "電傾鐘視覺覽遺銀幣觸潰駟馬語貧貫幾躍膽較輩輪辭贊連遞邊針錘錯門閃項霧類護驚體鬨鱗鳴鄰黨專"
    "齊內褲鎬寵縣韙鯛張區業構湊餘熱爺鄉階樹葷鰓鰻亞裝俠義臺戲勝諸賽頂請運離圍曬寶爛鹼屜島紀峽"
    "壩庫鎮廢從後湯欄極權冪歸貓鐵園溫灣疊稜鏡遠錦綱聯愛羅蘭飯雲蟲亂蘇親債學戀測錐係烏軍車農題"
    "鍵隻顧廬駕鮮頁單勢齒漢組織調瀉報墳將築崗揚劍樓標館劇鋼華機廣環醫證綜財樂漲猶嶺癮瞼確領導"
    "繳爾蒼傚訪訴課諭議軌鉤敵頜頷顎饒齦劃屆屬頦廚擺檻禮營獄畫儀詔員轄週達錨閘陸飛評產圓詞誌倫"
    "虧備傷僅儉匱許凍負晝軒輊實顛衛戰黃飾別選擇搖擾煩寫協厭歡約狀藥滅適譽聽淵謀勻夠術納積辯慄"
    "稱撓惡麼恥悅憤啟懷緊認捨罷牆擴裡嗎況競爭癒濟補謝強癢輕穩換簡結絕縷給談羈脛寧興萊跡虛臉鷹"
    "範該詳諱讓鬚眾貲賬費賴慮訓輟麥續違遜鉞艱隨觀棄顯飽幫涼圖糧錄壇祿職襲廈損鷸綸脫氫丟現紗砲"
    "蓮驅細訂監檢劑設隊質蠑鋒藝歷殘頻譜製郵堅壓壢匯執攝嶽腫訊診碼韓槍樞壽鑽簽綴縫繼婦懸軸櫃檯"
    "擱淺纖陽燒參鳳僕艦幹絡禱編罰賓辦曠驗闊醜謬腸鹽宮龜釘憐討暈瑤漿竇膠豬噦媽屍壘澀癟癬薑貝餾"
    "竄卻遲臨聰與遷歲噁崙鈦鈾錳雜異鈉艙盜販諉繫戶譯鈴繽紛憲釩燈穀豐臟綁醃蘊橋鋪顏鬧噴岡陘礦亙"
    "們盃奧聖彙孫虜奮釋額纏誼擠紐還馳莊滬閣鋥麗誅責瘋傑叢蝸壯憂夢暫禍緣橫紜誰獸獅稅亾獻剎麽畢"
    "殼紹嘆歎訖瓊償撲購頓欽髮閫馭養億幀賑敘剛眥訛饗讀臥賢憑釣誕彿諷碩鵝儷邁薩廟瑪倆雛謨閑頤恆"
    "茲侶懶縮輻佀佇佈喬盧貸檔濃傘窪緩擋齲療貳佔優據鏵嘗須魯曉銃龕嘔姦繭縛賊僂奪趕賈潔績釀捲喚"
    "壞娛習慣聾脹駭貴痺鴻倉侖鏈鈷蘆罵蝕侷貼壺攜箋俁狹諺濕鏢鑣槓齡獵託鴿煉廠練繕撐衝俲俻倀儲頡"
    "隱蠟燭斃蔥糞藪賣賠閉騰倖儻澆閱傯沖讚偽鈔偉濾癱註頗鴨滯偪偵緝減窺竊傌籬傖傭誦謠頌傴擔慘篋"
    "羨蓋軋頹儸僉僑僞僥僨僱籤靜隴儂儈儐儔儕儗儘儺儼鷲勛勳帥彞諧鬩暢飢兇頑斬榮澤禿纜輝霽鹵婁醬"
    "鉗徹兌軟韻兗殮稟贅澇襯訌煥殲沒試誤棲頰鬍轎楓瓏廁噸曆畝釐韜寬篩贏軛複詐蟻餉鑄冊厲礪誣蟄餅"
    "磚磧爐艷灘颼飲愴凈濛凜凱紋預喪嘍榜殯籠輯鋸鑊蠻攤櫱驟顆贓囑膚訟槳靂創犢幟緻刦刧慾潤刪鏟繡"
    "莧蝟銘鵠鶩刼辮剄剉鉛剋趙瀝訥纔剝採綵剮腎駛剴剷劄劉禪錫鶚劊劌瀾簣賞磯晉紂効勵臘龐飼盪輒驕"
    "餒騎勣樸懇謹勦勱勲勸懲誡諫踐闌紮餃莖妝膿齋閥緯匭攏瘡軫鈞鍊噹賤齷齪漁陳棗潯澗譙贍轅鄭驢鰲"
    "襖璽綬鈕懼篤聳繞卹厙諒厠膩厴蕪譏壟潛嬰芻詰貪諜饋駁締災賄騙攔訣硯箏藺銅驪覓嘮謁囂嚀尋惱滲"
    "鐸遼塹賭衆巹滌縱墜籃襪頸愾諮錶韁邇渾嗇嚥詠雋鈣吳棟嬌簫闔閭吶噓呂韋矇貢癡鵑嗶囁鈍嘯嚕籲邏"
    "藹詛噠噥詢嚙嗆咷咼慟憫賦綠藍搶瞞囉濱喲裏哶唄嘩堯殤肅唚鸚鵡棧舖飆啞啣饑崑嚨慶鵲騷喫駝嚇樅"
    "純皰鉻詬嗩嘰蔭嘊嘓嘖嘜這謔嚴饞鬆嘵嘷嘸蝦嘽噝蟬噯噲灑嚌嚐囌嚦嚲嚳飭嚶囀囅囈謙蕭飄濺諦紇鑾"
    "鶻囪圇擬墾滾鯡鑿窯紳鯪鱉墊堝楊掙簾埡紼樁礎輔訶姪廡貞韌堊堖輿塋塏塒綢鴉塚繆塢塤塲蟎毀漬缽"
    "墮墻櫥壙壚壠壼寢禦袞梟鶯鷺戧魘鶇閨嶼撻撈鯊荊鮃慚鎔鐮燴鯢鰈鱷鴇臚鵬譚璣籟螻蠍賜絨夾餡譎賀"
    "贈奐訢奩媧貶隸奼氈蠅嬪嬈礙婭姍誘懾脅谿媯媼嫋嫗嫵嫻嬀嬋嬙嬝嬡嬤嬸孃孌癲簍謎鳩軻鸞臏銜孿宂"
    "撫謐彌讞駿闕蠶簷磣濫陝覈綽寳贖絀繚疇釁覷髒尒銳尷釦鰭屓屢巒巖屨屭駐鉀巔欖櫸鞏嵐峩峯峴禎崍"
    "嶇崐螢顥崢崬嵗嶁嶃嶄嶔嶗嶠嶧嶴嶸巋迴蠱覡彥幗鯽帬幃幇幘幚幬遙鑑犧鯨廄廕廝鑼廩綿廹甌鄴皺弒"
    "弔詭薦弳燾騫彆纍糾彊彠貽繪彫鷗癉斂畬鉉徠甦漸顫絞憚餓懣懟訝怳悽惻悳悵悶鍾瘧濁惥惪惲惷愙愜"
    "愨愷慂靄慍慪慫慳慼鬱憊軾憒憮懌懍懨懺戇戔戞戩轟戼鍬牽絹銬鐲賚摟攪躉鑔綏繯縊擻抝躥拋攣攢驥"
    "揀聵挾軀捫掄闡諢櫫揹櫓搗褳訕搯搵摑摜睺摯摳摶摻撏鐧潑撝撟撣撧撳撾撿擄闖擯擰擷擼攄攆攖攙攛"
    "轡軼訐敍閏誨敱縐謅斕鶉讕駮鱧穎絳旂渦獺旹礬暉筍昰瑩暘朧暱馮曄曇曖曡曨駱牘錕滄誇絛覲柵澱蝨"
    "鈺熾朶隉釗纓肈贄顰緬翹紓椏櫞櫟栢驁鎂欏桮梔梘櫻櫚繃棖槨椀楄楨楳榪槤榿閂槧槮猻樺橈輛橢豎檁"
    "檉檜檟檣檮檳檸櫂櫛櫝櫧櫨櫪櫬櫳櫺欒欞蒔歟詮鑲蹣陞歿殀殞殫殭殽謗毆餵鄧毿氂氌洶痙氳鋁鋅烴氬"
    "銨滸氷燙蘺穢衊隄淪痾礫湧饃濤濘蘚鰍銖涇薊贛鯉浹涖淒漣淥褻詣淶紡燉綺渙湞湼溈馴滎滙滷滻繹漚"
    "漵潁瘍潷潿澠澮觴濬濰濼瀅瀆瀋瀏瀕瀘瀟瀠瀦瀧瀨瀰瀲灃灄灕灝灤灩燼魷釺燬鯧飪煒煗礆煢瑣煬羆熒"
    "熗諳爍螞熲燁盞燜燦爲牎牕雖蠣絆犖狽猙獰獁獘獪獫獮獷獼玀糝玨饈饌珮隕琊瑯琹琺琿瑋璉璦璵瓔瓚"
    "臍甕飴詫鉅銹糰甯鎧疉簞瘂瘓瘲瘞瘮癧癘瘻癆癇癤癥癩癭癰紺蘞鎢鑞皚鵯駒粵莢鎛皐硃綻皸盌鞦韆睜"
    "睞睏睪瞇瞘瞜闍矓鑠矚矯硤硨鋇碭碸礡磑磽礄礱餌臠錮禑禕禡禰稈闈颯秌賃稭顙稾穌貯穠穡闃窓黷窰"
    "窶窻竝竪鮫靨籙筧筩筯讌箇鏃篔簹篳簀籐籖籛籜籩籪粃糲粺闢糭糴糶鰹黴紆紈絝紉閩紕紘錠鳶鷂紝紥"
    "紱紲紵紿絎縭絢絶綃綆綈綉綑緞綣綫綰綹綾緄緇緋緔緗緘緙緜緡緥緦緱緲緶緹縈縉縋縑縗縝縞縟縧騁"
    "縲縴縵縶縹繅繒繢繮繰繾纈纉纊纘罈罌鍰羋鴕羗羥鮐翄躚翬翺闆鴰鍁耑耬鬢聹聶閾銓臢腖腡鐐誹膃膆"
    "膕膾臕詡鰟鮍舘艤艫艶鰱蕘蕒苧鎊鴞荳薺菕轂鎣萇萵萹葒葦葯蒓蘢蒞蓀蓽蓯蓴蔞鍔蔣蔦蔴蕁蕆蕎蕓蕕"
    "蕢蕷薈薌薔薙諤釵藎藶蘄蘋虯虵鱒蛺蛻蜆餞鱝蝯蝱螄螮螿蟈蟣蟯蟶蠆蠐蠔蠨蠭衂衕衚鈎裊裌褌褘褭襠"
    "褸襃襇襝襤襴覇覘覥覦覬覯覿觶賅訃詁証詆譭詎詒詖詘詧詵詼詿誄鋤誆誑誒誖誚誥誶誾諂諄諍諏諑諗"
    "諛諞諠諡諶諼謄謌謖謚謫謳謾譁譌譔譖譟譫譴譾讋讎讒讖讜豈貍貎貙饜貰貺賁賂賒賕賙賡賧賫鬭賺賻"
    "賾贇贐贔贗趲躓蹌躕蹺踰踴躪蹕蹟躂躊躋躑躒躛躡躦躳輥軔齶軲轆軹軺輦輅輇輓輙輜輞輳輾轀轔轢轤"
    "辠辢辤邐逕遉遶鄲郟鄆鄒鄔鄖鄶鄺酈醞醱釃釅鱸鎦閶釓釔釕鈀釙鼴釤釧釷釹鈁鈄鈈鈐鈑鈥鈧鈮鈰鈳鐺"
    "鈸鈹鈽鈿鉈鉋鉍鉑鉕鉚鉢鉦鉬鉭鉸鉺鉿銑鏤銚銛銠銣銥銦銩銪銫銲銻銼銾鋃鋌鋏鋝鋟鋦鋨鋩鋮鋯鋰鋱"
    "鋻鏰錁錆錇錈錏錒錙錚錛錟錡錸鍀鍆鍇鍍鍘鍛鍠鍤鍥鍩鍶鍺鍼鎄鎇鎘鎡鎩鎪鎰鎳鎵鎿鏇鏌鏐鏑鏗鏘鏜"
    "鏝鏞鏨鏷鏹鐃鐒鐓鐔鐙鐝鐠鐦鐨鐫鐳鐿鑌鑥鑭鑷钁閆閈閌閎閔閡閧閬閹閻閼閽閿闇闋闐闓闞闥騭隂顴"
    "驛霑靆靉靚靦鞌韃韉馱韞韮颳頇頊頎頏頒顱頴顇顒顓顔顢顬顳颭颮颱颶颺颻飈飜飤飩飫飱餄餎餑餔餕"
    "餛餜餬餱餳餺餻餼餽餿饁饅饉饊饍饢騮騾駑駔駘駙駡駢駰駸騅騍騏騖驤騶騸驀驂驃驄驊驍驏鯁骯髏髈"
    "髐髕髖鬪鬮魎鰾魴鮁鮌鮎鮑鮒鮚鮞鮪鮭鯀鯇鯔鯖鯗鯤鯫鯰鯷鯿鰂鰆鶼鰉鰐鰒鰣鰥鰨鰩鰮鰳鰷鱺鱅鱈鱓"
    "鱔鱖鱘鱟鱣鱭鳧鴆鴒鴛鴦鴝鵒鴟鴣鴯鶓鴴鵂鵓鵜鶘鵞鵪鵾鶖鶲鶺鷀鷈鷉鷓鷖鷙鷥鷦鷯鷳鷴鷽鷿鸊鸕鸛"
    "鸝鹹鹺麩麪黌黲黽黿鼉鼕齎齏齔齙齜齟齬齠齣龎龔"
)

T2S_TO = (
    "声盘鉴点书帐记忆转弯沟以涧碗射鲃鱼鹅对应识儿并则为谓净无变鸡并来个国劲灵欧游荡样萝卜侧传"
    "价论两断获钱货旧绪险动劳复踪态气话诺呜红锅问团场块面涂尘厢当关万开见师审阴难买斗阵层风顺"
    "带过计头载绳愿弹顷径厅长泪钥锁扫挥拨拥击掷揽辙败终时会间际经东独杆进条龙务数总脚趋决谎准"
    "烟获闻处鹤发鸟诚种窝穷窍笔销杀奖节双雕诗筹箩纸级统丝挂维网尽线响脑脉资举说讲规贸叶满输号"
    "电倾钟视觉览遗银币触溃驷马语贫贯几跃胆较辈轮辞赞连递边针锤错门闪项雾类护惊体哄鳞鸣邻党专"
    "齐内裤镐宠县韪鲷张区业构凑馀热爷乡阶树荤鳃鳗亚装侠义台戏胜诸赛顶请运离围晒宝烂碱屉岛纪峡"
    "坝库镇废从后汤栏极权幂归猫铁园温湾叠棱镜远锦纲联爱罗兰饭云虫乱苏亲债学恋测锥系乌军车农题"
    "键只顾庐驾鲜页单势齿汉组织调泻报坟将筑岗扬剑楼标馆剧钢华机广环医证综财乐涨犹岭瘾睑确领导"
    "缴尔苍效访诉课谕议轨钩敌颌颔颚饶龈划届属颏厨摆槛礼营狱画仪诏员辖周达锚闸陆飞评产圆词志伦"
    "亏备伤仅俭匮许冻负昼轩轾实颠卫战黄饰别选择摇扰烦写协厌欢约状药灭适誉听渊谋匀够术纳积辩栗"
    "称挠恶麽耻悦愤启怀紧认舍罢墙扩里吗况竞争愈济补谢强痒轻稳换简结绝缕给谈羁胫宁兴莱迹虚脸鹰"
    "范该详讳让须众赀账费赖虑训辍麦续违逊钺艰随观弃显饱帮凉图粮录坛禄职袭厦损鹬纶脱氢丢现纱炮"
    "莲驱细订监检剂设队质蝾锋艺历残频谱制邮坚压坜汇执摄岳肿讯诊码韩枪枢寿钻签缀缝继妇悬轴柜台"
    "搁浅纤阳烧参凤仆舰干络祷编罚宾办旷验阔丑谬肠盐宫龟钉怜讨晕瑶浆窦胶猪哕妈尸垒涩瘪癣姜贝馏"
    "窜却迟临聪与迁岁恶仑钛铀锰杂异钠舱盗贩诿系户译铃缤纷宪钒灯谷丰脏绑腌蕴桥铺颜闹喷冈陉矿亘"
    "们杯奥圣汇孙虏奋释额缠谊挤纽还驰庄沪阁锃丽诛责疯杰丛蜗壮忧梦暂祸缘横纭谁兽狮税亡献刹么毕"
    "壳绍叹叹讫琼偿扑购顿钦发阃驭养亿帧赈叙刚眦讹飨读卧贤凭钓诞佛讽硕鹅俪迈萨庙玛俩雏谟闲颐恒"
    "兹侣懒缩辐似伫布乔卢贷档浓伞洼缓挡龋疗贰占优据铧尝须鲁晓铳龛呕奸茧缚贼偻夺赶贾洁绩酿卷唤"
    "坏娱习惯聋胀骇贵痹鸿仓仑链钴芦骂蚀局贴壶携笺俣狭谚湿镖镳杠龄猎讬鸽炼厂练缮撑冲效备伥储颉"
    "隐蜡烛毙葱粪薮卖赔闭腾幸傥浇阅偬冲赞伪钞伟滤瘫注颇鸭滞逼侦缉减窥窃骂篱伧佣诵谣颂伛担惨箧"
    "羡盖轧颓㑩佥侨伪侥偾雇签静陇侬侩傧俦侪拟尽傩俨鹫勋勋帅彝谐阋畅饥凶顽斩荣泽秃缆辉霁卤娄酱"
    "钳彻兑软韵兖殓禀赘涝衬讧焕歼没试误栖颊胡轿枫珑厕吨历亩厘韬宽筛赢轭复诈蚁饷铸册厉砺诬蛰饼"
    "砖碛炉艳滩飕饮怆净蒙凛凯纹预丧喽搒殡笼辑锯镬蛮摊蘖骤颗赃嘱肤讼桨雳创犊帜致劫劫欲润删铲绣"
    "苋猬铭鹄鹜劫辫刭锉铅克赵沥讷才剥采䌽剐肾驶剀铲札刘禅锡鹗刽刿澜篑赏矶晋纣效励腊庞饲荡辄骄"
    "馁骑绩朴恳谨剿劢勋劝惩诫谏践阑扎饺茎妆脓斋阀纬匦拢疮轸钧炼当贱龌龊渔陈枣浔涧谯赡辕郑驴鳌"
    "袄玺绶钮惧笃耸绕恤厍谅厕腻厣芜讥垄潜婴刍诘贪谍馈驳缔灾贿骗拦诀砚筝蔺铜骊觅唠谒嚣咛寻恼渗"
    "铎辽堑赌众卺涤纵坠篮袜颈忾谘表缰迩浑啬咽咏隽钙吴栋娇箫阖闾呐嘘吕韦蒙贡痴鹃哔嗫钝啸噜吁逻"
    "蔼诅哒哝询啮呛啕呙恸悯赋绿蓝抢瞒啰滨哟里咩呗哗尧殇肃吣鹦鹉栈铺飙哑衔饥昆咙庆鹊骚吃驼吓枞"
    "纯疱铬诟唢叽荫啀啯啧唛这谑严馋松哓嗥呒虾啴咝蝉嗳哙洒哜尝苏呖亸喾饬嘤啭冁呓谦萧飘溅谛纥銮"
    "鹘囱囵拟垦滚鲱凿窑绅鲮鳖垫埚杨挣帘垭绋桩础辅诃侄庑贞韧垩垴舆茔垲埘绸鸦冢缪坞埙场螨毁渍钵"
    "堕墙橱圹垆垅壸寝御衮枭莺鹭戗魇鸫闺屿挞捞鲨荆鲆惭镕镰烩鲵鲽鳄鸨胪鹏谭玑籁蝼蝎赐绒夹馅谲贺"
    "赠奂䜣奁娲贬隶姹毡蝇嫔娆碍娅姗诱慑胁溪妫媪袅妪妩娴妫婵嫱袅嫒嬷婶娘娈癫篓谜鸠轲鸾膑衔孪冗"
    "抚谧弥谳骏阙蚕檐碜滥陕核绰宝赎绌缭畴衅觑脏尔锐尴扣鳍屃屡峦岩屦屃驻钾巅榄榉巩岚峨峰岘祯崃"
    "岖昆萤颢峥岽岁嵝崭崭嵚崂峤峄岙嵘岿回蛊觋彦帼鲫裙帏帮帻帮帱遥鉴牺鲸厩荫厮锣廪绵迫瓯邺皱弑"
    "吊诡荐弪焘骞别累纠强彟贻绘雕鸥瘅敛畲铉徕苏渐颤绞惮饿懑怼讶恍凄恻德怅闷锺疟浊恿德恽蠢恪惬"
    "悫恺恿霭愠怄怂悭戚郁惫轼愦怃怿懔恹忏戆戋戛戬轰卯锹牵绢铐镯赉搂搅趸镲绥缳缢擞拗蹿抛挛攒骥"
    "拣聩挟躯扪抡阐诨橥背橹捣裢讪掏揾掴掼喉挚抠抟掺挦锏泼㧑挢掸撅揿挝捡掳闯摈拧撷撸摅撵撄搀撺"
    "辔轶讦叙闰诲敳绉诌斓鹑谰驳鳢颖绛旗涡獭时矾晖笋是莹旸胧昵冯晔昙暧叠昽骆牍锟沧夸绦觐栅淀虱"
    "钰炽朵陧钊缨肇贽颦缅翘纾桠橼栎柏骜镁椤杯栀枧樱榈绷枨椁碗匾桢梅杩梿桤闩椠椮狲桦桡辆椭竖檩"
    "柽桧槚樯梼槟柠棹栉椟槠栌枥榇栊棂栾棂莳欤诠镶蹒升殁夭殒殚僵肴谤殴喂邓毵牦氇汹痉氲铝锌烃氩"
    "铵浒冰烫蓠秽蔑堤沦疴砾涌馍涛泞藓鳅铢泾蓟赣鲤浃莅凄涟渌亵诣涞纺炖绮涣浈涅沩驯荥汇卤浐绎沤"
    "溆颍疡滗涠渑浍觞浚潍泺滢渎渖浏濒泸潇潆潴泷濑弥潋沣滠漓灏滦滟烬鱿钎毁鲳饪炜暖硷茕琐炀罴荧"
    "炝谙烁蚂颎烨盏焖灿为窗窗虽蛎绊荦狈狰狞犸毙狯猃狝犷猕猡糁珏馐馔佩陨玡琅琴珐珲玮琏瑷玙璎瓒"
    "脐瓮饴诧钜锈团宁铠叠箪痖痪疭瘗瘆疬疠瘘痨痫疖症癞瘿痈绀蔹钨镴皑鹎驹粤荚镈皋朱绽皲碗秋千睁"
    "睐困睾眯眍䁖阇眬铄瞩矫硖砗钡砀砜礴硙硗硚砻饵脔锢祦祎祃祢秆闱飒秋赁秸颡稿稣贮秾穑阒窗黩窑"
    "窭窗并竖鲛靥箓笕筒箸䜩个镞筼筜筚箦藤签篯箨笾簖秕粝稗辟粽籴粜鲣霉纡纨绔纫闽纰纮锭鸢鹞纴扎"
    "绂绁纻绐绗缡绚绝绡绠绨绣捆缎绻线绾绺绫绲缁绯绱缃缄缂绵缗褓缌缑缈缏缇萦缙缒缣缞缜缟缛绦骋"
    "缧纤缦絷缥缫缯缋缰缲缱缬缵纩缵坛罂锾芈鸵羌羟鲐翅跹翚翱板鸹锨专耧鬓聍聂阈铨臜胨脶镣诽腽嗉"
    "腘脍膘诩鳑鲏馆舣舻艳鲢荛荬苎镑鸮豆荠芲毂蓥苌莴扁荭苇药莼茏莅荪荜苁莼蒌锷蒋茑麻荨蒇荞芸莸"
    "蒉蓣荟芗蔷剃谔钗荩苈蕲苹虬蛇鳟蛱蜕蚬饯鲼猿虻蛳䗖螀蝈虮蛲蛏虿蛴蚝蟏蜂衄同胡钩袅夹裈袆袅裆"
    "褛褒裥裣褴襕霸觇觍觎觊觏觌觯赅讣诂证诋毁讵诒诐诎察诜诙诖诔锄诓诳诶悖诮诰谇訚谄谆诤诹诼谂"
    "谀谝喧谥谌谖誊歌谡谥谪讴谩哗讹撰谮噪谵谴谫詟雠谗谶谠岂狸猊䝙餍贳贶贲赂赊赇赒赓赕赍斗赚赙"
    "赜赟赆赑赝趱踬跄蹰跷逾踊躏跸迹跶踌跻踯跞躗蹑躜躬辊轫腭轱辘轵轺辇辂辁挽辄辎辋辏辗辒辚轹轳"
    "罪辣辞逦迳侦绕郸郏郓邹邬郧郐邝郦酝酦酾酽鲈镏阊钆钇钌钯钋鼹钐钏钍钕钫钭钚钤钣钬钪铌铈钶铛"
    "钹铍钸钿铊铇铋铂钷铆钵钲钼钽铰铒铪铣镂铫铦铑铷铱铟铥铕铯焊锑锉汞锒铤铗锊锓锔锇铓铖锆锂铽"
    "鉴镚锞锖锫锩铔锕锱铮锛锬锜铼锝钔锴镀铡锻锽锸锲锘锶锗针锿镅镉镃铩锼镒镍镓镎镟镆镠镝铿锵镗"
    "镘镛錾镤镪铙铹镦镡镫镢镨锎镄镌镭镱镔镥镧镊镢闫闬闶闳闵阂哄阆阉阎阏阍阌暗阕阗闿阚闼骘阴颧"
    "驿沾叇叆靓腼鞍鞑鞯驮韫韭刮顸顼颀颃颁颅颕悴颙颛颜颟颥颞飐飑台飓飏飖飚翻饲饨饫飧饸饹饽哺馂"
    "馄馃糊糇饧馎糕饩馈馊馌馒馑馓膳馕骝骡驽驵骀驸骂骈骃骎骓骒骐骛骧驺骟蓦骖骠骢骅骁骣鲠肮髅膀"
    "髇髌髋斗阄魉鳔鲂鲅鲧鲇鲍鲋鲒鲕鲔鲑鲧鲩鲻鲭鲞鲲鲰鲶鳀鳊鲗䲠鹣鳇鳄鳆鲥鳏鳎鳐鳁鳓鲦鲡鳙鳕鳝"
    "鳝鳜鲟鲎鳣鲚凫鸩鸰鸳鸯鸲鹆鸱鸪鸸鹋鸻鸺鹁鹈鹕鹅鹌鹍鹙鹟鹡鹚䴘䴘鹧鹥鸷鸶鹪鹩鹇鹇鸴䴙䴙鸬鹳"
    "鹂咸鹾麸面黉黪黾鼋鼍冬赍齑龀龅龇龃龉龆出厐龚"
)
