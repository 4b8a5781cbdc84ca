# Writes src/models/timellm_reference.json: NeuralForecast 3.3's TimeLLM on the tiny random Llama of
# scripts/make_tiny_llm.py (the Hugging Face copy of src/llm/tiny_llama.gguf's weights), its
# trainable weights set by a formula both sides compute (w_i = 0.3·sin(1.3·i + 0.5·p) for the i-th
# value of the p-th parameter, so the file stays small), the prompts NF builds, their token ids,
# and the eval-mode forward on a fixed batch; plus HF's ids for a few tokenizer test strings.
# With --gpt2, the same on the tiny random GPT-2 directory src/llm/tiny_gpt2_hf
# (scripts/make_tiny_gpt2_dir.py), NeuralForecast's default architecture.
# Run with the NeuralForecast venv (pip install transformers gguf):
#   python scripts/timellm_reference.py > src/models/timellm_reference.json
#   python scripts/timellm_reference.py --gpt2 > src/models/timellm_gpt2_reference.json
import os, sys, json, logging, warnings, tempfile
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np
import torch
torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transformers import AutoTokenizer

GPT2 = "--gpt2" in sys.argv[1:]
stdout = sys.stdout
sys.stdout = sys.stderr  # NF and the writers print progress
if GPT2:
    hf_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "llm", "tiny_gpt2_hf")
else:
    import make_tiny_llm  # needs gguf
    hf_dir = tempfile.mkdtemp()
    make_tiny_llm.main(hf_dir)
from neuralforecast.models import TimeLLM

d_llm = 24 if GPT2 else 32
opts = dict(h=3, input_size=20, patch_len=8, stride=4, d_ff=6, d_model=8, n_heads=2, d_llm=d_llm, top_k=4, prompt_prefix="Monthly airline passengers. ")
torch.manual_seed(0)
m = TimeLLM(llm=hf_dir, **opts)
if GPT2:
    # transformers loads the stored bfloat16 as bfloat16, which NF's float32 layers cannot take
    # (openai-community/gpt2 is float32); we read it as float32 too.
    m.llm.float()
m.eval()
names = [n for n, p in m.named_parameters() if p.requires_grad]
with torch.no_grad():
    for pi, (n, p) in enumerate((n, p) for n, p in m.named_parameters() if p.requires_grad):
        i = np.arange(p.numel(), dtype=np.float64)
        p.copy_(torch.from_numpy((0.3 * np.sin(1.3 * i + 0.5 * pi)).astype(np.float32)).reshape(p.shape))

seen = {}
tok = m.llm_tokenizer
class Recorder:
    def __call__(self, prompts, **kw):
        out = tok(prompts, **kw)
        seen["prompts"], seen["ids"] = list(prompts), out.input_ids.tolist()
        return out
    def __getattr__(self, a):
        return getattr(tok, a)
m.llm_tokenizer = Recorder()

g = torch.Generator().manual_seed(1)
t = torch.arange(20, dtype=torch.float32)
y = torch.stack([torch.sin(t * 0.8) * 3 + t * 0.2, torch.randn(20, generator=g) * 2 + 5, torch.cos(t * 0.3) - t * 0.1])[..., None]
with torch.no_grad():
    out = m.forward(dict(insample_y=y))

texts = ["Hello  world\n\nit's 3.14e-05 \u0663 \u216b caf\u00e9 <|endoftext|>x", " leading space, trailing  ", "1234567890 -0.5 [0, 12, 1, 23]"]
hf_tok = AutoTokenizer.from_pretrained(hf_dir)
tokenized = [dict(text=s, ids=hf_tok(s).input_ids) for s in texts]

options = dict(h=3, inputSize=20, patchLen=8, stride=4, dFf=6, dModel=8, nHeads=2, dLlm=d_llm, topK=4, promptPrefix=opts["prompt_prefix"])
sys.stdout = stdout
print(json.dumps(dict(options=options, names=names, y=y.flatten().tolist(), prompts=seen["prompts"], ids=seen["ids"], out=out.flatten().tolist(), tokenized=tokenized)))
