"""The workstation side: read official checkpoints, export, quantize and write packs (needs torch, nncf).

OpenVINO's model converter and NNCF report usage over the network unless the user opted out, and OpenVINO's
reporter does so by forking the process from a background thread: measured here, that fork deadlocked against
numpy's BLAS threads in the middle of a conversion (the process hung for good). gsv-edge works offline and sends
nothing, so both are given their own stand-ins: they use them when the reporting package cannot be imported.
"""

import sys

if "openvino_telemetry" not in sys.modules:
    sys.modules["openvino_telemetry"] = None  # `import openvino_telemetry` now raises ImportError
