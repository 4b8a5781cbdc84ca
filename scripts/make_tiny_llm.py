# Makes the tiny random Llama backbone TimeLLM's tests run on, twice from the same weights:
#   - src/llm/tiny_llama.gguf (committed): GGUF v3 with its byte-level BPE tokenizer, pre-tokenizer
#     smollm; token_embd in Q8_0, the attention queries in Q4_1, ffn_up in F16, the rest F32, and
#     the query/key rows permuted as llama.cpp's converter does;
#   - a Hugging Face directory (config.json, safetensors, tokenizer) with the dequantised values,
#     for NeuralForecast's TimeLLM (scripts/timellm_reference.py); not committed.
# The tokenizer: the 256 byte tokens, <|endoftext|> (eos, id 0) and merges trained on
# NeuralForecast-style prompts. Run with the NeuralForecast venv (pip install transformers gguf):
#   python scripts/make_tiny_llm.py [hf_dir]
import os, sys
import numpy as np
import torch
import gguf
from gguf import GGMLQuantizationType as Q
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import LlamaConfig, LlamaModel, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
GGUF_PATH = os.path.join(HERE, "..", "src", "llm", "tiny_llama.gguf")
HIDDEN, HEADS, KV_HEADS, FFN, LAYERS = 32, 4, 2, 64, 2


def tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    corpus = [
        "<|start_prompt|>NoneTask description: forecast the next 12 steps given the previous 24 steps information; "
        "Input statistics: min value -1.5306122303009033, max value 2.0, median value -0.10000000149011612, "
        "the trend of input is upward, top 5 lags are : [0, 12, 1, 23, 11]<|<end_prompt>|>",
        "the trend of input is downward; forecast the monthly number of airline passengers",
    ] * 20
    trainer = trainers.BpeTrainer(vocab_size=330, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    return tok


def permute(w, n_head):
    # llama.cpp convert_hf_to_gguf.py LlamaModel.permute
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def roundtrip(w, qtype):
    return gguf.quants.dequantize(gguf.quants.quantize(w, qtype), qtype).reshape(w.shape).astype(np.float32)


def main(hf_dir):
    tok = tokenizer()
    vocab = tok.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    import json
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokens), hidden_size=HIDDEN, intermediate_size=FFN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                      num_key_value_heads=KV_HEADS, rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=4096, tie_word_embeddings=True,
                      bos_token_id=0, eos_token_id=0, pad_token_id=0)
    model = LlamaModel(cfg)
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    # Norm weights away from 1 so that they matter.
    for k in sd:
        if "norm" in k:
            sd[k] = (1.0 + 0.2 * rng.standard_normal(sd[k].shape)).astype(np.float32)
    quant = {"embed_tokens.weight": Q.Q8_0, "self_attn.q_proj.weight": Q.Q4_1, "mlp.up_proj.weight": Q.F16}
    for k in sd:
        for suffix, q in quant.items():
            if k.endswith(suffix):
                sd[k] = roundtrip(sd[k], q)

    w = gguf.GGUFWriter(GGUF_PATH, "llama")
    w.add_name("tiny-random-llama")
    w.add_block_count(LAYERS)
    w.add_context_length(4096)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types([3 if t == "<|endoftext|>" else 1 for t in tokens])
    w.add_token_merges(merges)
    w.add_eos_token_id(0)
    w.add_bos_token_id(0)
    w.add_add_bos_token(False)

    def put(name, arr, q=Q.F32):
        if q == Q.F32:
            w.add_tensor(name, arr)
        elif q == Q.F16:
            w.add_tensor(name, arr.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(arr, q), raw_shape=gguf.quants.quant_shape_to_byte_shape(arr.shape, q), raw_dtype=q)

    put("token_embd.weight", sd["embed_tokens.weight"], Q.Q8_0)
    for i in range(LAYERS):
        p = f"layers.{i}."
        put(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"])
        put(f"blk.{i}.attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], HEADS), Q.Q4_1)
        put(f"blk.{i}.attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], KV_HEADS))
        put(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
        put(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
        put(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
        put(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
        put(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"], Q.F16)
        put(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
    put("output_norm.weight", sd["norm.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    if hf_dir:
        model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
        model.save_pretrained(hf_dir)
        PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>").save_pretrained(hf_dir)
    return tok


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch.set_num_threads(1)
    main(sys.argv[1] if len(sys.argv) > 1 else None)
