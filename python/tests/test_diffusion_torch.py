"""dopt.torch's SRG functions: per-row noising and eq. 19 targets against
dopt.diffusion, the sampling loop against a hand-written loop of steps and
against the exact score of a Gaussian (the sampler reproduces it)."""
import math

import numpy as np
import pytest

import dopt
from conftest import cuda_device_or_skip, requires_torch

pytestmark = requires_torch
torch = pytest.importorskip("torch")
import dopt.torch as dt  # noqa: E402

D = dopt.diffusion


def milp(seed=0, B=3, m=4, n=6):
    g = torch.Generator().manual_seed(seed)
    A = torch.randint(-2, 3, (B, m, n), generator=g).double()
    A[torch.rand(A.shape, generator=g) < 0.4] = 0
    b = torch.randint(-1, 3, (B, m), generator=g).double()
    c = torch.randn(B, n, generator=g, dtype=torch.float64)
    xref = torch.randint(0, 2, (B, n), generator=g).double()
    return A, b, c, xref


def test_schedule_tensor():
    ab = dt.diffusion_schedule(30, "cosine")
    assert ab.dtype == torch.float64 and ab.shape == (31,)
    np.testing.assert_array_equal(ab.numpy(), D.schedule(30, "cosine"))


def test_noise_per_row_timesteps():
    abar = dt.diffusion_schedule(50)
    x0 = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([1, 5, 50, 20, 20, 3])
    xt, eps = dt.diffusion_noise(x0, abar, t, seed=4, step=2)
    np.testing.assert_array_equal(eps.numpy(), D.noise(x0.detach().numpy(), 1.0, seed=4, step=2)[1])
    a = abar[t][:, None]
    torch.testing.assert_close(xt, a.sqrt() * x0 + (1 - a).sqrt() * eps, rtol=1e-15, atol=1e-15)
    xt.sum().backward()  # differentiable in x0
    torch.testing.assert_close(x0.grad, a.sqrt().expand(6, 4), rtol=1e-15, atol=0)
    g = torch.Generator().manual_seed(1)
    xt2, eps2 = dt.diffusion_noise(x0.detach(), abar, 10, generator=g)
    g = torch.Generator().manual_seed(1)
    assert torch.equal(eps2, torch.randn(6, 4, generator=g, dtype=torch.float64))
    with pytest.raises(ValueError, match="timesteps"):
        dt.diffusion_noise(x0.detach(), abar, torch.tensor([1, 2, 3, 4, 5, 51]))
    with pytest.raises(ValueError, match="shaped like x"):
        dt.diffusion_noise(x0.detach(), abar, torch.tensor([1, 2]))


def test_targets_per_row_match_the_scalar_library_call():
    A, b, c, xref = milp(1)
    guide = dt.DiffusionGuide(A, b, c, xref)
    abar = dt.diffusion_schedule(40)
    K = 2
    x0 = xref.repeat_interleave(K, 0)
    t = torch.tensor([3, 3, 17, 40, 17, 3])
    w = dt.Guidance(0.3, 0.8, 1.5)
    xt, eps = dt.diffusion_noise(x0, abar, t, seed=2)
    target = dt.srg_target(guide, xt, eps, abar, t, guidance=w)
    for tv in t.unique().tolist():
        ref = D.srg_target(guide, xt, eps, float(abar[tv]), guidance=w)  # every row at timestep tv
        rows = t == tv
        torch.testing.assert_close(target[rows], ref[rows], rtol=1e-14, atol=1e-14)
    # the training batch: t in [1, T], target consistent with its x_t and the seeded noise
    xt2, t2, target2 = dt.srg_training_batch(x0, guide, abar, seed=9, guidance=w,
                                             generator=torch.Generator().manual_seed(0))
    assert t2.shape == (6,) and int(t2.min()) >= 1 and int(t2.max()) <= 40
    eps2 = D.noise(x0.numpy(), 1.0, seed=9)[1]
    a = abar[t2][:, None]
    torch.testing.assert_close(xt2, a.sqrt() * x0 + (1 - a).sqrt() * torch.tensor(eps2), rtol=1e-15, atol=1e-15)
    torch.testing.assert_close(target2, dt.srg_target(guide, xt2, torch.tensor(eps2), abar, t2, guidance=w))


def test_guided_eps():
    A, b, c, xref = milp(2)
    guide = dt.DiffusionGuide(A, b, c, xref)
    x = torch.randn(3, 6, dtype=torch.float64)
    e = torch.randn(3, 6, dtype=torch.float64)
    w = dt.Guidance(0.5, 1.0, 2.0)
    G = D.guidance_gradient(guide, x, guidance=w)
    torch.testing.assert_close(dt.guided_eps(e, guide, x, 0.3, w), e + math.sqrt(0.7) * G, rtol=1e-15, atol=1e-15)


def test_timesteps():
    assert dt.srg_timesteps(3) == [(3, 2), (2, 1), (1, 0)]
    pairs = dt.srg_timesteps(100, 10)
    assert pairs[0][0] == 100 and pairs[-1][1] == 0 and len(pairs) == 10
    assert all(t > tp for t, tp in pairs)


@pytest.mark.parametrize("sampler,steps,eta", [("ddpm", None, 0.0), ("ddim", 7, 0.5)])
def test_sample_loop_equals_hand_written_steps(sampler, steps, eta):
    A, b, c, xref = milp(3)
    guide = dt.DiffusionGuide(A, b, c)
    abar = dt.diffusion_schedule(20)
    K = 4
    net = torch.nn.Linear(7, 6).double()
    model = lambda x, t: net(torch.cat([x, t[:, None].double() / 20], 1))  # noqa: E731
    w = dt.Guidance(0.0, 0.5, 1.0)
    out = dt.srg_sample(model, guide, abar, samples=K, sampler=sampler, steps=steps, eta=eta, seed=5,
                        guidance=w, dtype=torch.float64)
    x = torch.tensor(D.noise(np.zeros((3 * K, 6)), 1.0, seed=5, step=21)[1])
    with torch.no_grad():
        for t, tp in dt.srg_timesteps(20, steps):
            eps = model(x, torch.full((3 * K,), t))
            x = D.step(x, eps, abar, t, tp, sampler=sampler, eta=eta, seed=5, guide=guide, guidance=w)
    assert torch.equal(out, x)
    # unguided differs
    out_u = dt.srg_sample(model, guide, abar, samples=K, sampler=sampler, steps=steps, eta=eta, seed=5,
                          guided=False, dtype=torch.float64)
    assert not torch.equal(out_u, out)
    with pytest.raises(ValueError, match="DDPM"):
        dt.srg_sample(model, guide, abar, samples=K, steps=5)
    with pytest.raises(ValueError, match="model"):
        dt.srg_sample(lambda x, t: x[:, :2], guide, abar, samples=K)


def test_sampler_reproduces_a_gaussian_with_its_exact_score():
    """With the exact noise prediction of N(m, S), DDPM's samples have mean m
    and covariance S within 5 standard errors (observed: within 1.2; the
    200-step discretization bias is below the sampling error here)."""
    n, rows = 2, 4000
    m = np.array([1.0, -0.5])
    S = np.array([[0.5, 0.2], [0.2, 0.3]])
    abar = dt.diffusion_schedule(200)
    guide = dt.DiffusionGuide(np.zeros((1, n)), np.zeros(1), np.zeros(n))
    # the exact eps_hat at each timestep: abar from the timestep the loop passes in
    model = lambda x, t: D.mixture_eps(np.ones(1), m[None], S[None], float(abar[int(t[0])]), x)  # noqa: E731
    x = dt.srg_sample(model, guide, abar, samples=rows, seed=1, guided=False, dtype=torch.float64).numpy()
    mean, cov = x.mean(0), np.cov(x.T)
    se_mean = np.sqrt(np.diag(S) / rows)
    assert np.all(np.abs(mean - m) <= 5 * se_mean)
    se_cov = np.sqrt((S ** 2 + np.outer(np.diag(S), np.diag(S))) / rows)
    assert np.all(np.abs(cov - S) <= 5 * se_cov)


def test_cuda_sample_matches_cpu():
    device = cuda_device_or_skip()
    A, b, c, xref = milp(4)
    abar = dt.diffusion_schedule(10)
    model = lambda x, t: 0.1 * x  # noqa: E731
    ref = dt.srg_sample(model, dt.DiffusionGuide(A, b, c), abar, samples=3, seed=2, dtype=torch.float64)
    out = dt.srg_sample(model, dt.DiffusionGuide(A.to(device), b.to(device), c.to(device)), abar, samples=3,
                        seed=2, dtype=torch.float64)
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), ref, rtol=1e-9, atol=1e-9)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_guide_from_torch_sparse_csr():
    A, b, c, xref = milp(5)
    pattern = A[0] != 0
    Ab = A[0] * pattern  # one pattern: torch's batched CSR needs one nnz per instance
    Ab = torch.stack([Ab, 2 * Ab, -Ab])
    g_dense = dt.DiffusionGuide(Ab, b, c, xref)
    g_csr = dt.DiffusionGuide(Ab.to_sparse_csr(), b, c, xref)
    assert g_dense.device == torch.device("cpu")
    assert dopt.diffusion.Guide(A.numpy(), b.numpy(), c.numpy()).device is None
    x = torch.randn(6, 6, dtype=torch.float64)
    e = torch.randn(6, 6, dtype=torch.float64)
    abar = dt.diffusion_schedule(10)
    assert torch.equal(D.step(x, e, abar, 4, guide=g_csr, seed=1), D.step(x, e, abar, 4, guide=g_dense, seed=1))
    assert torch.equal(D.candidates(g_csr, x).violation, D.candidates(g_dense, x).violation)


def test_guided_sampling_leaves_the_models_output_buffer_alone():
    # a model that returns a buffer it keeps (a cache, a static CUDA-graph
    # output) must not find the guidance added into it
    A, b, c, xref = milp(4)
    guide = dt.DiffusionGuide(A, b, c)
    abar = dt.diffusion_schedule(10)
    buffer = torch.zeros(3 * 2, 6, dtype=torch.float64)
    dt.srg_sample(lambda x, t: buffer, guide, abar, samples=2, seed=1, guidance=dt.Guidance(0.0, 1.0, 1.0),
                  dtype=torch.float64)
    assert torch.count_nonzero(buffer) == 0


def test_training_batch_draws_t_with_the_callers_generator():
    A, b, c, xref = milp(5)
    guide = dt.DiffusionGuide(A, b, c, xref)
    abar = dt.diffusion_schedule(20)
    x0 = xref.repeat_interleave(2, 0)
    runs = [dt.srg_training_batch(x0, guide, abar, generator=torch.Generator().manual_seed(9)) for _ in range(2)]
    assert torch.equal(runs[0][1], runs[1][1]) and torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1].min() >= 1 and runs[0][1].max() <= 20
