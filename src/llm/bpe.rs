//! Byte-level BPE (GPT-2's tokenizer, which SmolLM2 and other Llama-type models reuse), as
//! Hugging Face `tokenizers` runs it: special tokens are matched first, the rest is split by the
//! pre-tokenizer, each piece's UTF-8 bytes are mapped to GPT-2's printable byte alphabet, and
//! adjacent symbols are merged by rank until no listed merge applies.
//!
//! Pre-tokenizers: `gpt2` (ByteLevel's regex) and `smollm` (every digit on its own first, HF's
//! `Digits(individual_digits=True)`, then ByteLevel). The regex is run by a hand-written scanner
//! (the Rust `regex` crate has no look-ahead, which `\s+(?!\S)` needs). `\p{L}` is approximated by
//! "alphabetic and not numeric", which differs from Unicode's letter category only for combining
//! vowel signs of some scripts (alphabetic marks); NeuralForecast's prompts are ASCII.

use std::collections::HashMap;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreTokenizer {
    Gpt2,
    /// Digits split one by one before the GPT-2 regex (SmolLM/SmolLM2).
    SmolLm,
}

pub struct Tokenizer {
    vocab: HashMap<String, u32>,
    /// (left id, right id) → (rank, merged id)
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Tokens matched verbatim before pre-tokenization, longest first.
    specials: Vec<(String, u32)>,
    /// Id of each byte's symbol. SmolLM2's vocabulary lacks a few control bytes: HF's BPE (as
    /// transformers builds it from the GGUF, without an unknown token) drops them, and so do we.
    byte_ids: [Option<u32>; 256],
    pre: PreTokenizer,
    pub eos: u32,
    pub bos: Option<u32>,
    pub vocab_size: usize,
}

/// GPT-2's `bytes_to_unicode`: printable bytes stand for themselves, the others are shifted to
/// code points from 256 up, so every byte is a visible character.
fn byte_chars() -> [char; 256] {
    let mut out = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        out[b as usize] = if printable {
            char::from_u32(b).expect("byte")
        } else {
            n += 1;
            char::from_u32(255 + n).expect("shifted byte")
        };
    }
    out
}

fn is_letter(c: char) -> bool {
    c.is_alphabetic() && !c.is_numeric()
}

/// GPT-2's pre-tokenizer regex `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// as a scanner: the alternatives are tried in that order at each position.
fn gpt2_split(text: &str, out: &mut Vec<(usize, usize)>) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |c| c.0);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        let next = |k: usize| chars.get(k).map(|c| c.1);
        let run = |from: usize, f: &dyn Fn(char) -> bool| {
            let mut j = from;
            while j < chars.len() && f(chars[j].1) {
                j += 1;
            }
            j
        };
        // Contractions.
        if c == '\'' {
            let rest = &text[chars[i].0..];
            if let Some(len) = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].iter().find(|p| rest.starts_with(**p)).map(|p| p.chars().count()) {
                out.push((chars[i].0, end_of(i + len)));
                i += len;
                continue;
            }
        }
        let start = if c == ' ' && next(i + 1).is_some_and(|n| !n.is_whitespace()) { i + 1 } else { i };
        let d = chars.get(start).map(|c| c.1);
        let class: Option<&dyn Fn(char) -> bool> = match d {
            Some(d) if is_letter(d) => Some(&is_letter),
            Some(d) if d.is_numeric() => Some(&|c: char| c.is_numeric()),
            Some(d) if !d.is_whitespace() => Some(&|c: char| !c.is_whitespace() && !is_letter(c) && !c.is_numeric()),
            _ => None,
        };
        if let Some(f) = class {
            let j = run(start, f);
            out.push((chars[i].0, end_of(j)));
            i = j;
            continue;
        }
        // Whitespace: the whole run at the end of the text, or all but its last character when
        // something follows (`\s+(?!\S)`), or the single character (`\s+`).
        let j = run(i, &|c: char| c.is_whitespace());
        let j = if j < chars.len() && j - i > 1 { j - 1 } else { j };
        out.push((chars[i].0, end_of(j)));
        i = j;
    }
}

impl Tokenizer {
    /// From a vocabulary (id order), merges `"a b"`, the ids of special tokens, and the
    /// pre-tokenizer.
    pub fn new(tokens: Vec<String>, merges: &[String], specials: Vec<u32>, pre: PreTokenizer, eos: u32, bos: Option<u32>) -> Result<Tokenizer> {
        let vocab_size = tokens.len();
        let vocab: HashMap<String, u32> = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let mut byte_ids = [None; 256];
        for (b, ch) in byte_chars().iter().enumerate() {
            byte_ids[b] = vocab.get(&ch.to_string()).copied();
        }
        if byte_ids.iter().filter(|i| i.is_some()).count() < 128 {
            return Err(Error::format("the tokenizer's vocabulary lacks most byte tokens: not a byte-level BPE vocabulary"));
        }
        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let (a, b) = m.split_once(' ').ok_or_else(|| Error::format(format!("tokenizer merge {rank} ('{m}') is not two tokens separated by a space")))?;
            let id = |t: &str| vocab.get(t).copied().ok_or_else(|| Error::format(format!("tokenizer merge {rank} ('{m}') uses '{t}', which is not in the vocabulary")));
            let merged = id(&format!("{a}{b}"))?;
            merge_map.entry((id(a)?, id(b)?)).or_insert((rank as u32, merged));
        }
        for id in specials.iter().copied().chain([eos]).chain(bos) {
            if id as usize >= vocab_size {
                return Err(Error::format(format!("tokenizer special token id {id} is outside the vocabulary ({vocab_size} tokens)")));
            }
        }
        let mut specials: Vec<(String, u32)> = specials.into_iter().map(|i| (tokens[i as usize].clone(), i)).filter(|(t, _)| !t.is_empty()).collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        Ok(Tokenizer { vocab, merges: merge_map, specials, byte_ids, pre, eos, bos, vocab_size })
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    /// BPE over one pre-tokenized piece.
    fn bpe(&self, piece: &str, out: &mut Vec<u32>) {
        let mut symbols: Vec<u32> = piece.bytes().filter_map(|b| self.byte_ids[b as usize]).collect();
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| self.merges.get(&(w[0], w[1])).map(|&(rank, id)| (rank, i, id)))
                .min();
            let Some((_, at, id)) = best else { break };
            // Merge every occurrence of the best pair, left to right (as HF's BPE does).
            let pair = (symbols[at], symbols[at + 1]);
            let mut merged = Vec::with_capacity(symbols.len());
            let mut i = 0;
            while i < symbols.len() {
                if i + 1 < symbols.len() && (symbols[i], symbols[i + 1]) == pair {
                    merged.push(id);
                    i += 2;
                } else {
                    merged.push(symbols[i]);
                    i += 1;
                }
            }
            symbols = merged;
        }
        out.extend(symbols);
    }

    fn encode_plain(&self, text: &str, out: &mut Vec<u32>) {
        let mut pieces: Vec<&str> = Vec::new();
        match self.pre {
            PreTokenizer::Gpt2 => pieces.push(text),
            PreTokenizer::SmolLm => {
                let mut start = 0;
                for (i, c) in text.char_indices() {
                    if c.is_ascii_digit() {
                        if start < i {
                            pieces.push(&text[start..i]);
                        }
                        pieces.push(&text[i..i + 1]);
                        start = i + 1;
                    }
                }
                if start < text.len() {
                    pieces.push(&text[start..]);
                }
            }
        }
        let mut spans = Vec::new();
        for p in pieces {
            spans.clear();
            gpt2_split(p, &mut spans);
            for &(a, b) in &spans {
                self.bpe(&p[a..b], out);
            }
        }
    }

    /// The ids of `text` (BOS first when the model adds one).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out: Vec<u32> = self.bos.into_iter().collect();
        let mut rest = text;
        'outer: while !rest.is_empty() {
            // The earliest special token, longest at that position.
            let mut first: Option<(usize, &(String, u32))> = None;
            for s in &self.specials {
                if let Some(at) = rest.find(&s.0) {
                    if first.is_none_or(|(f, t)| at < f || (at == f && s.0.len() > t.0.len())) {
                        first = Some((at, s));
                    }
                }
            }
            match first {
                Some((at, (tok, id))) => {
                    self.encode_plain(&rest[..at], &mut out);
                    out.push(*id);
                    rest = &rest[at + tok.len()..];
                }
                None => {
                    self.encode_plain(rest, &mut out);
                    break 'outer;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(t: &str) -> Vec<&str> {
        let mut s = Vec::new();
        gpt2_split(t, &mut s);
        s.into_iter().map(|(a, b)| &t[a..b]).collect()
    }

    #[test]
    fn gpt2_regex_pieces() {
        assert_eq!(split("Hello world's  end"), ["Hello", " world", "'s", " ", " end"]);
        assert_eq!(split("a,  b\n\nc  "), ["a", ",", " ", " b", "\n", "\n", "c", "  "]);
        assert_eq!(split("x -0.5e+3 [0, 1]"), ["x", " -", "0", ".", "5", "e", "+", "3", " [", "0", ",", " 1", "]"]);
        assert_eq!(split("<|start|>ab12 c"), ["<|", "start", "|>", "ab", "12", " c"]);
    }
}
