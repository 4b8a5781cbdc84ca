# The loop the *_reference.py scripts share: for each (NeuralForecast options, our options) case,
# a model seeded by its index with every parameter drawn N(0, 0.25) (so no init scheme can hide a
# mismatch), its eval-mode and train-mode outputs on batch(i, nf_options) (with dropout 0 the
# train-mode pass differs only where a layer does, e.g. Autoformer's delays), printed as JSON.
import json
import logging
import os
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
import torch  # noqa: E402

torch.set_num_threads(1)


def r7(t):
    return [round(float(v), 7) for v in t.flatten()]


def random_model(model_class, nf_opts, i, decimals=None):
    """Case i's model, seeded by i, every parameter (but the loss's) drawn N(0, 0.25), rounded
    to `decimals` when given (so that the JSON holds them exactly); with its named parameters."""
    torch.manual_seed(i)
    m = model_class(**nf_opts)
    params = [(n, p) for n, p in m.named_parameters() if not n.startswith('loss.')]
    with torch.no_grad():
        for _, p in params:
            v = torch.randn_like(p) * 0.5
            p.copy_(v if decimals is None else torch.round(v * 10**decimals) / 10**decimals)
    return m, params


def print_cases(model_class, cases, batch, grads=False):
    """batch(i, nf_options) gives dict(insample_y=..., futr_exog=... or None). With grads, also
    a target drawn like the output and the gradients of the train-mode mean absolute error
    against it, in parameter order: the backward checked as well as the forward."""
    out = []
    for i, (nf_opts, ours) in enumerate(cases):
        m, params = random_model(model_class, nf_opts, i)
        b = batch(i, nf_opts)
        with torch.no_grad():
            m.eval()
            out_eval = m.forward(b)
            m.train()
            out_train = m.forward(b)
        f = b['futr_exog']
        case = dict(options=ours, names=[n for n, _ in params], values=r7(torch.cat([p.detach().flatten() for _, p in params])),
                    y=r7(b['insample_y']), f=r7(f) if f is not None else [], out_eval=r7(out_eval), out_train=r7(out_train))
        if grads:
            target = torch.randn(out_train.shape, generator=torch.Generator().manual_seed(20 + i))
            (m.forward(b) - target).abs().mean().backward()
            case.update(target=r7(target), grads=r7(torch.cat([p.grad.flatten() for _, p in params])))
        out.append(case)
    print(json.dumps(out))


def univariate_batch(windows):
    """Windows [windows, L, 1] and, if the model has a future column, [windows, L + h, 1]."""
    def batch(i, nf_opts):
        g = torch.Generator().manual_seed(10 + i)
        L, h = nf_opts['input_size'], nf_opts['h']
        y = torch.randn(windows, L, 1, generator=g)
        f = torch.randn(windows, L + h, 1, generator=g)
        return dict(insample_y=y, futr_exog=f if 'futr_exog_list' in nf_opts else None)
    return batch
