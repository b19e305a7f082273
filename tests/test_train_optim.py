"""Our Adam matches torch.optim.Adam step for step."""
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
