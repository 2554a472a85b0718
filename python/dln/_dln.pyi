"""Type stubs of the compiled module ``dln._dln`` (called through the wrappers in ``dln``)."""

from typing import Any, Callable, Optional, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

_Layers = Sequence[npt.NDArray[Any]]

def moments(ws: _Layers, rtol: float) -> dict[str, Any]: ...
def balance(
    ws: _Layers, method: str, tol: float, max_iter: int
) -> tuple[list[npt.NDArray[Any]], dict[str, Any]]: ...
def flow(
    ws: _Layers,
    kind: str,
    t_end: float,
    samples: int,
    rtol: float,
    atol: float,
    scheme: str,
    callback: Optional[Callable[[float, float], Any]],
) -> tuple[list[npt.NDArray[Any]], dict[str, Any]]: ...
def train(
    inputs: npt.NDArray[Any],
    targets: npt.NDArray[Any],
    widths: Sequence[int],
    kappa: float,
    t_end: Optional[float],
    steps: Optional[int],
    lr: Optional[float],
    init: str,
    seed: int,
    samples: int,
    rtol: float,
    atol: float,
) -> tuple[list[npt.NDArray[Any]], dict[str, Any]]: ...
def hsv(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    d: Optional[npt.NDArray[np.float64]] = None,
    dt: Optional[float] = None,
    equil: bool = True,
) -> npt.NDArray[np.float64]: ...
def gram(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    kind: str = "controllability",
    dt: Optional[float] = None,
    factor: bool = False,
) -> npt.NDArray[np.float64]: ...
def reduce(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    d: Optional[npt.NDArray[np.float64]] = None,
    order: Optional[int] = None,
    tol: Optional[float] = None,
    method: str = "sr",
    alpha: Optional[float] = None,
    dt: Optional[float] = None,
    equil: bool = True,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    dict[str, Any],
]: ...
def bayesian_bt(
    a: npt.NDArray[np.float64],
    b: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    noise: Optional[npt.NDArray[np.float64]] = None,
    order: Optional[int] = None,
    data: Optional[npt.NDArray[np.float64]] = None,
    dt: Optional[float] = None,
) -> dict[str, Any]: ...
def sample_prior(
    widths: Sequence[int],
    beta: float,
    kappa: float,
    samples: int,
    complex: bool,
    seed: int,
) -> tuple[list[npt.NDArray[Any]], dict[str, Any]]: ...
def sample_train(
    inputs: npt.NDArray[Any],
    targets: npt.NDArray[Any],
    init: _Layers,
    beta: float,
    kappa: float,
    t_end: float,
    dt: float,
    paths: int,
    records: int,
    seed: int,
) -> tuple[list[npt.NDArray[Any]], dict[str, Any]]: ...
def sample_fiber(
    ws: _Layers,
    beta: float,
    kappa: float,
    samples: int,
    measure: str,
    sampler: Optional[str],
    seed: int,
    burn_in: Optional[int],
    thin: int,
) -> tuple[list[npt.NDArray[Any]], dict[str, Any]]: ...
def sample_orbit(
    ws: _Layers, samples: int, seed: int
) -> tuple[list[npt.NDArray[Any]], dict[str, Any]]: ...
def map_estimate(
    inputs: npt.NDArray[Any],
    targets: npt.NDArray[Any],
    widths: list[int],
    kappa: float,
    x0: npt.NDArray[Any],
    max_iter: int,
    tol: float,
    step: float,
) -> tuple[npt.NDArray[Any], list[npt.NDArray[Any]], dict[str, Any]]: ...
def entropy(
    x: Optional[npt.NDArray[Any]] = None,
    depth: Optional[int] = None,
    ws: Optional[_Layers] = None,
) -> dict[str, Any]: ...
def _time_balance(ws: _Layers, method: str) -> float: ...
def _copy_layers(ws: _Layers) -> list[npt.NDArray[Any]]: ...
def _time_hsv(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], c: npt.NDArray[np.float64]
) -> float: ...
