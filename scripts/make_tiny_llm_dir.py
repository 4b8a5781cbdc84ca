# Makes the tiny random Hugging Face Llama directory TimeLLM's tests read (committed):
#   - src/llm/tiny_llama_hf/: config.json, model.safetensors (LlamaForCausalLM's names, "model."
#     prefix, tied head not stored; bfloat16 weights), tokenizer.json (byte-level BPE with the GPT-2
#     pre-tokenizer, a start token added by a template), tokenizer_config.json;
#   - src/llm/tiny_llama_hf_reference.json: token ids HF's tokenizer gives a few texts, and
#     LlamaModel's last_hidden_state (float32, from the bfloat16 weights) for two of them.
# Needs torch, transformers and tokenizers (the NeuralForecast venv plus `pip install transformers`):
#   python scripts/make_tiny_llm_dir.py
import json, os
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "llm", "tiny_llama_hf")
REFERENCE = os.path.join(HERE, "..", "src", "llm", "tiny_llama_hf_reference.json")
HIDDEN, HEADS, KV_HEADS, FFN, LAYERS = 24, 4, 2, 40, 2
TEXTS = [
    "<|start_prompt|>Task description: forecast the next 12 steps given the previous 24 steps information; "
    "Input statistics: min value -1.5306122303009033, max value 2.0, median value 0.10000000149011612, "
    "the trend of input is upward, top 5 lags are : [0, 12, 1, 23, 11]<|<end_prompt>|>",
    "Hello  world's 123 passengers\n\tdon't stop<|endoftext|>  ",
    "ünïcödé — 東京 ½ Ⅻ",
]


def train_bpe(vocab_size, special_tokens):
    """A byte-level BPE with the GPT-2 pre-tokenizer, trained on prompt-like text."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [TEXTS[0], "the monthly number of airline passengers, trend downward; steps 1234567890"] * 20
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    return tok


def tokenizer():
    tok = train_bpe(320, ["<|endoftext|>", "<|bos|>"])
    tok.post_processor = processors.TemplateProcessing(single="<|bos|> $A", special_tokens=[("<|bos|>", tok.token_to_id("<|bos|>"))])
    return tok


def main():
    os.makedirs(OUT, exist_ok=True)
    tok = tokenizer()
    torch.manual_seed(1)
    cfg = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=HIDDEN, intermediate_size=FFN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                      num_key_value_heads=KV_HEADS, rms_norm_eps=1e-6, rope_theta=500.0, max_position_embeddings=2048, tie_word_embeddings=True,
                      bos_token_id=tok.token_to_id("<|bos|>"), eos_token_id=tok.token_to_id("<|endoftext|>"))
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    model = model.to(torch.bfloat16)
    model.save_pretrained(OUT)
    fast = save_tokenizer(tok, OUT, eos_token="<|endoftext|>", bos_token="<|bos|>")
    # Here in float32 from the bfloat16 weights.
    write_reference(fast, model.model.float(), REFERENCE)


def save_tokenizer(tok, out, **special_tokens):
    """tokenizer.json and tokenizer_config.json in `out` (and none of the other files)."""
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **special_tokens)
    fast.save_pretrained(out)
    for extra in ["generation_config.json", "special_tokens_map.json", "chat_template.jinja"]:
        if os.path.exists(os.path.join(out, extra)):
            os.remove(os.path.join(out, extra))
    return fast


def write_reference(fast, base_model, path, digits=None):
    """The ids of TEXTS, and the last_hidden_state of the first two as NeuralForecast calls the
    model: tokenizer(prompt).input_ids, get_input_embeddings(), inputs_embeds (eval mode)."""
    f32 = base_model.eval()
    tokenized = [{"text": t, "ids": fast(t).input_ids} for t in TEXTS]
    forward = []
    with torch.no_grad():
        for case in tokenized[:2]:
            ids = torch.tensor([case["ids"]])
            hidden = f32(inputs_embeds=f32.get_input_embeddings()(ids)).last_hidden_state.flatten().tolist()
            forward.append({"ids": case["ids"], "hidden": hidden if digits is None else [float(f"{v:.{digits}g}") for v in hidden]})
    with open(path, "w") as f:
        json.dump({"tokenized": tokenized, "forward": forward}, f)


if __name__ == "__main__":
    main()
