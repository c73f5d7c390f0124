"""python-iptables' `iptc.util`: helpers programs occasionally import."""

import ctypes.util
import subprocess


def find_library(*names):
    """Returns (CDLL or None, path or None) like python-iptables; pytables needs no C library."""
    for name in names:
        path = ctypes.util.find_library(name)
        if path:
            try:
                return ctypes.CDLL(path), path
            except OSError:
                pass
    return None, None


def load_kernel(name, exc_if_failed=False):
    """Loads a kernel module with modprobe (python-iptables does this on import)."""
    proc = subprocess.run(["modprobe", name], capture_output=True, check=False)
    if exc_if_failed and proc.returncode != 0:
        raise OSError(proc.stderr.decode(errors="replace"))
