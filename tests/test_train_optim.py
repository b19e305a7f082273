"""Our Adam matches torch.optim.Adam step for step, and refuses a state saved for other parameters."""
import pytest
import torch

from sailfish.train.optim import Adam


def test_adam_matches_torch_adam():
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    b = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    b.load_state_dict(a.state_dict())
    ours = Adam(a.parameters(), lr=3e-3, betas=(0.8, 0.95), eps=1e-5)
    ref = torch.optim.Adam(b.parameters(), lr=3e-3, betas=(0.8, 0.95), eps=1e-5)
    x = torch.randn(16, 3)
    for i in range(20):
        for net, opt in ((a, ours), (b, ref)):
            opt.param_groups[0]["lr"] = 3e-3 * (1 - i / 20)
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_adam_state_round_trips():
    net = torch.nn.Linear(3, 2)
    opt = Adam(net.parameters(), lr=1e-2)
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    other = Adam(net.parameters(), lr=5.0)
    other.load_state_dict(opt.state_dict())
    assert other.steps == 1 and other.param_groups[0]["lr"] == 1e-2
    torch.testing.assert_close(other.exp_avg[0], opt.exp_avg[0])


def test_clip_grad_norm_matches_torch():
    from sailfish.train.optim import clip_grad_norm_

    torch.manual_seed(0)
    a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 4) * 10
    for net in (a, b):
        net(x).square().sum().backward()
    ours = clip_grad_norm_(list(a.parameters()), 0.5)
    ref = torch.nn.utils.clip_grad_norm_(list(b.parameters()), 0.5)
    torch.testing.assert_close(ours, ref)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def _stepped_adam(net):
    opt = Adam(net.parameters(), lr=1e-2)
    net(torch.ones(1, net.in_features)).sum().backward()
    opt.step()
    return opt


def test_adam_load_state_dict_refuses_a_different_number_of_tensors():
    saved = _stepped_adam(torch.nn.Linear(3, 2)).state_dict()
    saved["exp_avg"] = saved["exp_avg"][:1]  # what a policy with fewer layers saved
    other = Adam(torch.nn.Linear(3, 2).parameters())
    with pytest.raises(ValueError, match=r"^optimizer state: exp_avg holds 1 tensors but this optimizer has "
                                         r"2 parameters"):
        other.load_state_dict(saved)
    assert other.steps == 0 and all(t.count_nonzero() == 0 for t in other.exp_avg + other.exp_avg_sq)


def test_adam_load_state_dict_refuses_a_different_shape():
    saved = _stepped_adam(torch.nn.Linear(3, 4)).state_dict()  # hidden size 4, loaded into 2
    other = Adam(torch.nn.Linear(3, 2).parameters())
    with pytest.raises(ValueError, match=r"^optimizer state: exp_avg\[0\] has shape \(4, 3\) but parameter 0 "
                                         r"has shape \(2, 3\)"):
        other.load_state_dict(saved)
    assert other.steps == 0


def test_adam_leaves_parameters_without_gradients_alone():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    opt = Adam(net.parameters(), lr=1e-2)
    opt.step()
    assert opt.steps == 0  # nothing had a gradient: no update, no step counted
    frozen = net[1].weight.detach().clone()
    net[0](torch.ones(1, 3)).sum().backward()  # only the first layer gets gradients
    opt.step()
    assert opt.steps == 1 and torch.equal(net[1].weight, frozen)


def test_adam_matches_torch_adam_across_dtypes():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    a.bias.data = a.bias.data.double()  # two dtypes: the fused kernel is called once per dtype
    b.load_state_dict(a.state_dict())
    b.bias.data = b.bias.data.double()
    ours, ref = Adam(a.parameters(), lr=1e-2), torch.optim.Adam(b.parameters(), lr=1e-2)
    x = torch.randn(8, 3)
    for _ in range(5):
        for net, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            ((net.weight @ x.T).square().mean() + net.bias.square().sum()).backward()
            opt.step()
    torch.testing.assert_close(a.weight, b.weight)
    assert a.bias.dtype == torch.float64
    torch.testing.assert_close(a.bias, b.bias)


def test_a_populations_adam_steps_each_member_as_its_own_adam_and_skips_members_at_rate_zero():
    # Stacked [K, ...] tensors, one rate per member; member 1 is paused (rate 0) for steps 2-3.
    g = torch.Generator().manual_seed(0)
    K, shapes = 3, [(5, 4), (5,)]
    stacked = [torch.randn(K, *s, generator=g).requires_grad_() for s in shapes]
    solos = [[p[k].detach().clone().requires_grad_() for p in stacked] for k in range(K)]
    population = Adam(stacked, lr=[1e-2] * K, members=K)
    solo_optims = [Adam(params, lr=1e-2 * (k + 1)) for k, params in enumerate(solos)]
    for step in range(5):
        rates = [1e-2 * (k + 1) for k in range(K)]
        if step in (2, 3):
            rates[1] = 0.0
        population.param_groups[0]["lr"] = rates
        grads = [torch.randn(K, *s, generator=g) for s in shapes]
        for p, grad in zip(stacked, grads):
            p.grad = grad.clone()
        population.step()
        for k in range(K):
            if rates[k] == 0:
                continue
            for p, grad in zip(solos[k], grads):
                p.grad = grad[k].clone()
            solo_optims[k].step()
    for k in range(K):
        assert population.member_steps[k] == solo_optims[k].steps == (3 if k == 1 else 5)
        state = population.member_state_dict(k)
        for p, solo, m, solo_m in zip(stacked, solos[k], state["exp_avg"], solo_optims[k].exp_avg):
            torch.testing.assert_close(p[k], solo, rtol=1e-6, atol=1e-7)
            torch.testing.assert_close(m, solo_m, rtol=1e-6, atol=1e-7)
