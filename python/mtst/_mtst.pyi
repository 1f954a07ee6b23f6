# Type stubs of the native module mtst._mtst (python/src/*.cpp). Use the mtst package's
# classes; this module's calls check nothing the Python layer has not checked already.
from typing import Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str
source_dir: str
STREAM_CHUNK: int

class Error(ValueError): ...

def physical_cores() -> int: ...

class Encoder:
    def __init__(self, model_dir: str, device: str, precision: str, threads: int) -> None: ...
    def encode(
        self, texts: List[str], batch_size: int, normalize: int, max_seq_length: int
    ) -> npt.NDArray[np.float32]: ...
    def tokenize(
        self, texts: List[str], max_length: int
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    @property
    def dimension(self) -> int: ...
    @property
    def max_seq_length(self) -> int: ...
    @property
    def max_position_embeddings(self) -> int: ...
    @property
    def normalizes(self) -> bool: ...
    @property
    def device(self) -> str: ...
    @property
    def precision(self) -> str: ...
    @property
    def threads(self) -> int: ...

class MultiTaskModel:
    def __init__(self, model_dir: str, device: str, precision: str, threads: int) -> None: ...
    def predict(
        self, texts: List[str], batch_size: int, embeddings: bool
    ) -> Tuple[List[npt.NDArray[np.float32]], Optional[npt.NDArray[np.float32]]]: ...
    @property
    def tasks(self) -> List[Tuple[str, List[str]]]: ...
    def encoder(self) -> Encoder: ...

def train(
    config_path: str,
    config_json: str,
    base_dir: str,
    output: str,
    overrides: List[str],
    resume: str,
    progress: bool,
    overwrite: bool,
) -> str: ...
def evaluate(
    model_dir: str,
    split: str,
    data: str,
    task: str,
    batch_size: int,
    device: str,
    precision: str,
    threads: int,
) -> str: ...

class Server:
    def __init__(
        self,
        model_dir: str,
        host: str,
        port: int,
        device: str,
        precision: str,
        threads: int,
        limits: Dict[str, object],
    ) -> None: ...
    def start(self) -> int: ...
    def wait(self) -> None: ...
    def stop(self) -> None: ...
    @property
    def port(self) -> int: ...
