# Writes src/models/gru_reference.json: small NeuralForecast 3.3 GRUs and RNNs (direct mode, the
# default) with random weights, their eval-mode forward on a fixed batch of 3 windows and the
# gradients of a train-mode MAE against a fixed target. Per class,
# case 0 has a future column (in the encoder input and beside the decoder's states) and h < L (the
# last h states); case 1 h > L (upsample_sequence along time), one decoder layer. Run with the venv:
#   python scripts/gru_reference.py > src/models/gru_reference.json
import json
from nf_reference import r7, random_model, univariate_batch
import torch
from neuralforecast.models import GRU, RNN

cases = [
    (dict(h=3, input_size=5, encoder_hidden_size=4, decoder_hidden_size=3, futr_exog_list=['f']),
     {"h": 3, "inputSize": 5, "encoderHiddenSize": 4, "decoderHiddenSize": 3, "futrExogList": ["f"]}),
    (dict(h=6, input_size=4, encoder_hidden_size=3, encoder_n_layers=1, decoder_layers=1),
     {"h": 6, "inputSize": 4, "encoderHiddenSize": 3, "encoderNLayers": 1, "decoderLayers": 1}),
]
out = {}
for cls in (GRU, RNN):
    out[cls.__name__] = []
    for i, (nf_opts, ours) in enumerate(cases):
        m, params = random_model(cls, nf_opts, i)
        b = univariate_batch(3)(i, nf_opts)
        y, f, futr = b['insample_y'], b['futr_exog'], b['futr_exog'] is not None
        batch = dict(b, hist_exog=None, stat_exog=None)
        m.eval()
        with torch.no_grad():
            o = m.forward(batch)
        # Train mode (dropout 0 by default): the gradients of an MAE against a fixed target, so
        # the backward through the cells is checked against torch's autograd too.
        m.train()
        target = torch.randn(o.shape, generator=torch.Generator().manual_seed(20 + i))
        (m.forward(batch) - target).abs().mean().backward()
        out[cls.__name__].append(dict(options=ours, names=[n for n, _ in params], values=r7(torch.cat([p.detach().flatten() for _, p in params])),
                                      y=r7(y), f=r7(f) if futr else [], out=r7(o), target=r7(target),
                                      grads=r7(torch.cat([p.grad.flatten() for _, p in params]))))
print(json.dumps(out))
