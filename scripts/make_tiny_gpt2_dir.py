# Makes the tiny random Hugging Face GPT-2 directory TimeLLM's tests read (committed):
#   - src/llm/tiny_gpt2_hf/: config.json (model_type 'gpt2'), model.safetensors (GPT2LMHeadModel's
#     names: the "transformer." prefix, HF Conv1D weights stored [in, out], the tied head not stored;
#     bfloat16 weights except the layer norms, which stay float32 so both dtypes are read),
#     tokenizer.json (byte-level BPE with the GPT-2 pre-tokenizer and a ByteLevel post-processor,
#     as openai-community/gpt2's: no start token), tokenizer_config.json;
#   - src/llm/tiny_gpt2_hf_reference.json: token ids HF's tokenizer gives a few texts, and
#     GPT2Model's last_hidden_state (eval mode: no dropout; float32 from the stored weights) for two
#     of them, to 8 significant digits.
# n_positions is 512: the tests' prompts (about 330 bytes) and patches must fit the context.
# Needs torch, transformers and tokenizers (the NeuralForecast venv plus `pip install transformers`):
#   python scripts/make_tiny_gpt2_dir.py
import os
import torch
from tokenizers import processors
from transformers import GPT2Config, GPT2LMHeadModel
from make_tiny_llm_dir import save_tokenizer, train_bpe, write_reference

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "llm", "tiny_gpt2_hf")
REFERENCE = os.path.join(HERE, "..", "src", "llm", "tiny_gpt2_hf_reference.json")
HIDDEN, HEADS, LAYERS, POSITIONS = 24, 4, 2, 512


def main():
    os.makedirs(OUT, exist_ok=True)
    tok = train_bpe(300, ["<|endoftext|>"])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    eos = tok.token_to_id("<|endoftext|>")
    torch.manual_seed(2)
    cfg = GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=POSITIONS, n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS, layer_norm_epsilon=1e-5,
                     activation_function="gelu_new", bos_token_id=eos, eos_token_id=eos, tie_word_embeddings=True)
    model = GPT2LMHeadModel(cfg)
    # Biases and norms away from HF's zeros and ones, so that the test sees their wiring.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln_" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    model = model.to(torch.bfloat16)
    for name, m in model.named_modules():
        if name.split(".")[-1].startswith("ln_"):
            m.float()
    model.save_pretrained(OUT)
    os.chmod(os.path.join(OUT, "model.safetensors"), 0o644)
    fast = save_tokenizer(tok, OUT, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    # 8 significant digits: far below the test's 1e-5, and half the file.
    write_reference(fast, model.transformer.float(), REFERENCE, digits=8)


if __name__ == "__main__":
    main()
