"""SRG (score-based generation of MILP solutions with Lagrangian guidance)
in torch: noising, the eq. 19 training targets, the sampling loop with a
torch score network in it, and candidate selection. The numerics are
dopt.diffusion's (docs/DIFFUSION.md); this module adds per-row timesteps and
the loops.

Training (one step):

    xt, t, target = srg_training_batch(x0, guide, abar, guidance=g)
    loss = F.mse_loss(model(xt, t), target)

Sampling:

    x = srg_sample(model, guide, abar, samples=K, guidance=g)
    cand = diffusion_candidates(guide, x)

The network is called as model(x, t) with x (rows, n) and t (rows,) int64,
rows = batch * samples, instance-major (row r is instance r // samples).
"""


import numpy as np
import torch

from .. import diffusion as _diffusion

DiffusionGuide = _diffusion.Guide
Guidance = _diffusion.Guidance

__all__ = ["DiffusionGuide", "Guidance", "diffusion_schedule", "diffusion_noise", "diffusion_step", "guided_eps",
           "srg_target", "srg_training_batch", "srg_sample", "srg_timesteps", "diffusion_candidates"]


def diffusion_schedule(T, kind="linear", *, device=None, dtype=torch.float64):
    """abar (T + 1,) as a tensor (dopt.diffusion.schedule)."""
    return torch.as_tensor(_diffusion.schedule(T, kind), dtype=dtype, device=device)


def _abar_at(abar, t, like):
    """abar[t] (t: int or int tensor) as a tensor broadcastable against
    `like` (..., n), computed in float64 then cast to like's dtype."""
    a = torch.as_tensor(np.asarray(abar, dtype=np.float64) if not isinstance(abar, torch.Tensor) else abar,
                        dtype=torch.float64, device=like.device)
    if isinstance(t, torch.Tensor):
        t = t.to(device=like.device, dtype=torch.int64)
        if t.shape != like.shape[:-1]:
            raise ValueError(f"srg: t must be an int or shaped like x without its last dimension "
                             f"{tuple(like.shape[:-1])}; got {tuple(t.shape)}")
        T = a.shape[0] - 1
        if t.numel() and (int(t.min()) < 0 or int(t.max()) > T):
            raise ValueError(f"srg: timesteps must lie in [0, T = {T}]; got [{int(t.min())}, {int(t.max())}]")
        return a[t].unsqueeze(-1)
    t = int(t)
    if not 0 <= t < a.shape[0]:
        raise ValueError(f"srg: timestep {t} outside [0, T = {a.shape[0] - 1}]")
    return a[t].reshape([1] * like.dim())


def diffusion_noise(x0, abar, t, *, seed=None, step=0, generator=None):
    """Noises x0 ((rows, n) or (batch, samples, n)) to timestep t (an int, or
    an int tensor shaped like x0 without its last dimension: per-row
    timesteps): x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps. eps is
    dopt's Philox noise at (seed, row, step) when seed is given (the same on
    every backend), else torch.randn (with `generator`). Returns (x_t, eps);
    x_t is differentiable with respect to x0."""
    if not isinstance(x0, torch.Tensor):
        raise TypeError(f"diffusion_noise: x0 must be a torch tensor; got {type(x0).__name__}")
    if seed is not None:
        _, eps = _diffusion.noise(x0.detach(), 1.0, seed=seed, step=step)
    else:
        eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    a = _abar_at(abar, t, x0)
    xt = a.sqrt().to(x0.dtype) * x0 + (1 - a).sqrt().to(x0.dtype) * eps
    return xt, eps


def guided_eps(eps_hat, guide, x, abar_t, guidance=None):
    """SRG's guided noise prediction eps_hat + sqrt(1 - abar_t) (gamma_o dO/dx
    + gamma_c dP/dx) at x (what dopt.diffusion.step applies when given the
    guide), for samplers written in torch. abar_t: a float or a tensor
    broadcastable against x."""
    G = _diffusion.guidance_gradient(guide, x.detach(), guidance=guidance, round=False)
    k = torch.sqrt(1 - torch.as_tensor(abar_t, dtype=torch.float64, device=x.device)).to(eps_hat.dtype)
    return eps_hat + k * G.to(eps_hat.dtype)


def srg_target(guide, xt, eps, abar, t, *, guidance=None, round=True):  # noqa: A002
    """SRG's eq. 19 training targets for x_t at timestep t (an int or per-row
    int tensor):  eps + sqrt(abar_t) (gamma_o c .* sign(c .* ([x_t] - x*))
    - gamma_c lam A' 1[A [x_t] < b]). With an int t and the guide's xref this
    equals dopt.diffusion.srg_target; gamma_o = 0 needs no xref."""
    G = _diffusion.guidance_gradient(guide, xt.detach(), guidance=guidance, round=round)
    a = _abar_at(abar, t, xt)
    return eps.detach() + a.sqrt().to(xt.dtype) * G.to(xt.dtype)


def srg_training_batch(x0, guide, abar, *, t=None, seed=None, step=0, generator=None, guidance=None,
                       round=True):  # noqa: A002
    """One batch of SRG training data: per-row timesteps t (uniform in
    [1, T] from `generator` unless given; a generator of x0's device, which
    also draws the noise), x_t and the eq. 19 targets.
    x0: the solutions, (batch * samples, n) or (batch, samples, n), matching
    the guide's batch. Returns (x_t, t, target); train with
    mse(model(x_t, t), target)."""
    T = (abar.shape[0] if hasattr(abar, "shape") else len(abar)) - 1
    if t is None:
        # on x0's device: one generator (of that device) serves t and the noise
        t = torch.randint(1, T + 1, x0.shape[:-1], generator=generator, device=x0.device)
    xt, eps = diffusion_noise(x0.detach(), abar, t, seed=seed, step=step, generator=generator)
    target = srg_target(guide, xt, eps, abar, t, guidance=guidance, round=round)
    return xt, t, target


def srg_timesteps(T, steps=None):
    """Descending (t, t_prev) pairs from T to 0: every timestep (steps None
    or T; DDPM needs these), or `steps` evenly spaced ones (DDIM)."""
    T = int(T)
    if steps is None or int(steps) >= T:
        ts = list(range(T, -1, -1))
    else:
        steps = int(steps)
        if steps < 1:
            raise ValueError(f"srg_timesteps: steps must be >= 1; got {steps}")
        ts = sorted({int(round(v)) for v in np.linspace(0, T, steps + 1)}, reverse=True)
    return list(zip(ts[:-1], ts[1:]))


@torch.no_grad()
def srg_sample(model, guide, abar, *, samples=1, steps=None, sampler="ddpm", eta=0.0, seed=0, guidance=None,
               guided=True, x=None, device=None, dtype=None):
    """Runs the reverse process with `model` predicting the noise:
    x_T ~ N(0, I) (dopt's Philox at (seed, row, T + 1), or the given x), then
    for each (t, t_prev) of srg_timesteps(T, steps): eps_hat = model(x, t)
    and one dopt step (DDPM, or DDIM with eta) with SRG's guidance when
    `guided` (guidance: Guidance or None for the defaults). Returns x
    (batch * samples, n); pass it to diffusion_candidates. device / dtype
    default to the guide's tensors' device (else the CPU) and torch's
    default dtype."""
    if not isinstance(guide, _diffusion.Guide):
        raise TypeError(f"srg_sample: guide must be a DiffusionGuide; got {type(guide).__name__}")
    abar_h = abar.detach().cpu().numpy() if isinstance(abar, torch.Tensor) else np.asarray(abar, dtype=np.float64)
    T = abar_h.shape[0] - 1
    if device is None:
        device = guide.device if guide.device is not None else torch.device("cpu")
    if dtype is None:
        dtype = torch.get_default_dtype()
    rows = guide.batch * int(samples)
    if x is None:
        zeros = torch.zeros((rows, guide.n), dtype=dtype, device=device)
        _, x = _diffusion.noise(zeros, 1.0, seed=seed, step=T + 1)
    else:
        x = x.detach().to(device=device, dtype=dtype).reshape(rows, guide.n).clone()
    if sampler == "ddpm" and steps is not None and int(steps) < T:
        raise ValueError(f"srg_sample: DDPM steps through every timestep; got steps = {steps} < T = {T} "
                         "(use sampler='ddim')")
    for t, t_prev in srg_timesteps(T, steps):
        tt = torch.full((rows,), t, dtype=torch.int64, device=device)
        eps_hat = model(x, tt)
        if not isinstance(eps_hat, torch.Tensor) or eps_hat.shape != x.shape:
            raise ValueError(f"srg_sample: model(x, t) must return a tensor shaped like x {tuple(x.shape)}; got "
                             f"{getattr(eps_hat, 'shape', type(eps_hat).__name__)}")
        # a guided step writes the guided eps into eps_hat: never into the
        # model's own memory (a cached or static output buffer)
        eps_hat = eps_hat.detach().to(dtype, copy=guided).contiguous()
        _diffusion.step(x, eps_hat, abar_h, t, t_prev, sampler=sampler, eta=eta, seed=seed,
                        guide=guide if guided else None, guidance=guidance, inplace=True)
    return x


diffusion_step = _diffusion.step
diffusion_candidates = _diffusion.candidates

