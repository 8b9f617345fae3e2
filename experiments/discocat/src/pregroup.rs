//! Pregroup types and sentence diagrams: simple types with adjoints, words, the cup reduction of
//! a word sequence to a target type (an error names the word and wire where it fails), text form.

use super::DiscoError;
use std::fmt;

/// An atomic type with its adjoint order: `n` is z = 0, `n.l` z = −1, `n.r` z = +1, `n.l.l` z = −2.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Simple {
    pub base: String,
    pub z: i32,
}

impl Simple {
    pub fn new(base: &str, z: i32) -> Self {
        Simple { base: base.into(), z }
    }
    pub fn l(&self) -> Self {
        Simple::new(&self.base, self.z - 1)
    }
    pub fn r(&self) -> Self {
        Simple::new(&self.base, self.z + 1)
    }
    /// `self · next` reduces to the unit: x·x.r or x.l·x (x^(z) · x^(z+1)).
    pub fn cancels_with(&self, next: &Simple) -> bool {
        self.base == next.base && self.z + 1 == next.z
    }
}

impl fmt::Display for Simple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)?;
        let suffix = if self.z < 0 { ".l" } else { ".r" };
        for _ in 0..self.z.unsigned_abs() {
            f.write_str(suffix)?;
        }
        Ok(())
    }
}

/// A pregroup type: a product of simple types, left to right.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ty(pub Vec<Simple>);

impl Ty {
    /// Parses `n.r s n.l`, `n.r @ s @ n.l` or `n.r·s·n.l`.
    pub fn parse(text: &str) -> Result<Ty, DiscoError> {
        let mut out = Vec::new();
        for tok in text.split(|c: char| c.is_whitespace() || c == '@' || c == '·').filter(|t| !t.is_empty()) {
            let mut parts = tok.split('.');
            let base = parts.next().unwrap_or("");
            if base.is_empty() || !base.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(DiscoError::Type(format!("`{tok}` in type `{text}` is not a simple type (write n, s, n.l, n.r, n.l.l …)")));
            }
            let mut z = 0;
            for adj in parts {
                z += match adj {
                    "l" => -1,
                    "r" => 1,
                    other => return Err(DiscoError::Type(format!("`.{other}` in `{tok}`: adjoints are .l and .r"))),
                };
            }
            out.push(Simple::new(base, z));
        }
        Ok(Ty(out))
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("1");
        }
        let parts: Vec<String> = self.0.iter().map(|s| s.to_string()).collect();
        f.write_str(&parts.join("·"))
    }
}

/// A word box: a name and the type of its output wires.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub name: String,
    pub ty: Ty,
}

impl Word {
    pub fn new(name: &str, ty: &str) -> Result<Word, DiscoError> {
        Ok(Word { name: name.into(), ty: Ty::parse(ty)? })
    }
}

/// One step of a diagram after its word boxes: a cup joining the open wires at positions `p` and
/// `p + 1`, or a box taking the open wires `at .. at + |dom|` to `cod`.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Cup(usize),
    Box { name: String, dom: Ty, cod: Ty, at: usize },
}

/// A string diagram: word boxes side by side (their wires numbered left to right), then cups and
/// boxes applied to the open wires in order. Sentences are words and cups; higher-order words add
/// boxes and put diagrams side by side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagram {
    pub words: Vec<Word>,
    pub ops: Vec<Op>,
}

/// What a diagram's ops do to its wires: the cups as wire pairs, each box with the wires it takes
/// and the new wires it gives, and the wires left open.
pub struct Wiring {
    pub types: Vec<Simple>,
    pub cups: Vec<(usize, usize)>,
    pub boxes: Vec<(String, Vec<usize>, Vec<usize>)>,
    pub open: Vec<usize>,
}

impl Wiring {
    /// The cups between word wires (numbered below `n`) with their nesting depth: 1 for a cup
    /// that encloses none, one more than the deepest cup it encloses otherwise (drawing rows).
    pub fn word_cups(&self, n: usize) -> Vec<(usize, usize, usize)> {
        let mut out: Vec<(usize, usize, usize)> = Vec::new();
        for &(a, b) in self.cups.iter().filter(|&&(_, b)| b < n) {
            let depth = 1 + out.iter().filter(|(c, e, _)| *c > a && *e < b).map(|x| x.2).max().unwrap_or(0);
            out.push((a, b, depth));
        }
        out
    }
}

impl Diagram {
    /// Traces the ops over numbered wires (word wires first, box outputs numbered after them).
    pub fn wiring(&self) -> Result<Wiring, DiscoError> {
        let mut types: Vec<Simple> = self.words.iter().flat_map(|w| w.ty.0.iter().cloned()).collect();
        let mut open: Vec<usize> = (0..types.len()).collect();
        let (mut cups, mut boxes) = (Vec::new(), Vec::new());
        for (k, op) in self.ops.iter().enumerate() {
            match op {
                Op::Cup(p) => {
                    if p + 1 >= open.len() || !types[open[*p]].cancels_with(&types[open[p + 1]]) {
                        return Err(DiscoError::Type(format!("op {}: no cup joins open wires {p} and {}", k + 1, p + 1)));
                    }
                    cups.push((open[*p], open[p + 1]));
                    open.drain(*p..p + 2);
                }
                Op::Box { name, dom, cod, at } => {
                    let m = dom.0.len();
                    if at + m > open.len() || open[*at..at + m].iter().map(|&i| &types[i]).ne(dom.0.iter()) {
                        return Err(DiscoError::Type(format!("op {}: box `{name}` wants {dom} at open wire {at}, but the diagram has {}", k + 1, Ty(open.iter().map(|&i| types[i].clone()).collect()))));
                    }
                    let fresh: Vec<usize> = (types.len()..types.len() + cod.0.len()).collect();
                    types.extend(cod.0.iter().cloned());
                    let taken: Vec<usize> = open.splice(*at..at + m, fresh.iter().copied()).collect();
                    boxes.push((name.clone(), taken, fresh));
                }
            }
        }
        Ok(Wiring { types, cups, boxes, open })
    }

    /// The type of the open wires.
    pub fn codomain(&self) -> Result<Ty, DiscoError> {
        let w = self.wiring()?;
        Ok(Ty(w.open.iter().map(|&i| w.types[i].clone()).collect()))
    }

    /// Reduces `words` with cups, each new wire cancelling the last open wire when it can (the
    /// left-to-right reduction of Lambek's pregroup grammars), and checks the result is `target`.
    pub fn reduce(words: Vec<Word>, target: &Ty) -> Result<Diagram, DiscoError> {
        Diagram { words, ops: Vec::new() }.close(target)
    }

    /// Appends the cups of the left-to-right reduction of the open wires and checks that what
    /// stays open is `target`; the error names the first wire that cancels with nothing.
    pub fn close(mut self, target: &Ty) -> Result<Diagram, DiscoError> {
        let w = self.wiring()?;
        let mut stack: Vec<usize> = Vec::new();
        for &i in &w.open {
            match stack.last() {
                Some(&top) if w.types[top].cancels_with(&w.types[i]) => {
                    stack.pop();
                    self.ops.push(Op::Cup(stack.len()));
                }
                _ => stack.push(i),
            }
        }
        let got = Ty(stack.iter().map(|&i| w.types[i].clone()).collect());
        if &got != target {
            let describe = |i: usize| self.describe_wire(i, &w);
            let mut wanted = target.0.clone();
            let stray: Vec<String> = stack
                .iter()
                .filter(|&&i| match wanted.iter().position(|t| *t == w.types[i]) {
                    Some(k) => {
                        wanted.remove(k);
                        false
                    }
                    None => true,
                })
                .map(|&i| describe(i))
                .collect();
            let first = stray.first().cloned().unwrap_or_else(|| format!("{} open wires where {} were wanted", stack.len(), target.0.len()));
            return Err(DiscoError::Type(format!(
                "the words reduce to {got}, not {target}: {first} cancels with nothing{}",
                if stray.len() > 1 { format!(" (also {})", stray[1..].join(", ")) } else { String::new() }
            )));
        }
        Ok(self)
    }

    /// "wire 3 `n.l` of word 2 `loves` (type n.r·s·n.l)", or the box a wire comes out of.
    fn describe_wire(&self, i: usize, w: &Wiring) -> String {
        let mut first = 0;
        for (k, word) in self.words.iter().enumerate() {
            if i < first + word.ty.0.len() {
                return format!("wire {} `{}` of word {} `{}` (type {})", i - first + 1, w.types[i], k + 1, word.name, word.ty);
            }
            first += word.ty.0.len();
        }
        let name = w.boxes.iter().find(|b| b.2.contains(&i)).map_or("?", |b| b.0.as_str());
        format!("wire `{}` out of box `{name}`", w.types[i])
    }

    /// This diagram and `other` side by side: `other`'s wires and ops come after this one's.
    pub fn juxtapose(&self, other: &Diagram) -> Result<Diagram, DiscoError> {
        let shift = self.codomain()?.0.len();
        let mut d = self.clone();
        d.words.extend(other.words.iter().cloned());
        // this diagram's ops only touch its own wires, which stay in front of `other`'s
        d.ops.extend(other.ops.iter().map(|op| match op {
            Op::Cup(p) => Op::Cup(p + shift),
            Op::Box { name, dom, cod, at } => Op::Box { name: name.clone(), dom: dom.clone(), cod: cod.clone(), at: at + shift },
        }));
        Ok(d)
    }

    /// Appends a cup on open wires `p`, `p + 1` (checked when the diagram is traced).
    pub fn cup(mut self, p: usize) -> Diagram {
        self.ops.push(Op::Cup(p));
        self
    }

    /// Appends a box from `dom` to `cod` on the open wires starting at `at`.
    pub fn then(mut self, name: &str, dom: &str, cod: &str, at: usize) -> Result<Diagram, DiscoError> {
        self.ops.push(Op::Box { name: name.into(), dom: Ty::parse(dom)?, cod: Ty::parse(cod)?, at });
        self.wiring()?;
        Ok(self)
    }

    /// A one-line description: word boxes, cups and boxes as wire numbers, and the open wires.
    pub fn to_text(&self) -> String {
        let boxes: Vec<String> = self.words.iter().map(|w| format!("{}:{}", w.name, w.ty)).collect();
        let Ok(w) = self.wiring() else { return format!("{} | ill-formed ops {:?}", boxes.join(" "), self.ops) };
        let mut ops: Vec<String> = w.cups.iter().map(|&(a, b)| format!("cup {a}-{b}")).collect();
        for (name, taken, fresh) in &w.boxes {
            ops.push(format!("{name} {taken:?}->{fresh:?}"));
        }
        let open: Vec<String> = w.open.iter().map(|&i| format!("{i}:{}", w.types[i])).collect();
        format!("{} | {} | open {}", boxes.join(" "), ops.join(", "), open.join(" "))
    }

    /// A drawing in text: word names over their wires, one row per nesting level of cups (`└─┘`),
    /// boxes below, then the open wires' types.
    pub fn draw(&self) -> String {
        let Ok(w) = self.wiring() else { return self.to_text() };
        let n: usize = self.words.iter().map(|w| w.ty.0.len()).sum();
        let labels: Vec<String> = w.types.iter().map(|s| s.to_string()).collect();
        let mut col = Vec::with_capacity(n);
        let (mut names, mut types) = (String::new(), String::new());
        let mut at = 0usize;
        for word in &self.words {
            let start = at;
            let mut tys = Vec::new();
            for _ in &word.ty.0 {
                let i = col.len();
                col.push(at + labels[i].chars().count() / 2);
                at += labels[i].chars().count() + 1;
                tys.push(labels[i].as_str());
            }
            at = start + (at - start).max(word.name.chars().count() + 1) + 1;
            names.push_str(&format!("{:<w$}", word.name, w = at - start));
            types.push_str(&format!("{:<w$}", tys.join(" "), w = at - start));
        }
        let word_cups = w.word_cups(n);
        let rows = word_cups.iter().map(|c| c.2).max().unwrap_or(0);
        let mut out = vec![names.trim_end().to_string(), types.trim_end().to_string()];
        let mut closed = vec![false; n];
        for r in 1..=rows {
            let mut line: Vec<char> = vec![' '; at + 1];
            for i in (0..n).filter(|&i| !closed[i]) {
                line[col[i]] = '│';
            }
            for &(a, b, _) in word_cups.iter().filter(|c| c.2 == r) {
                for c in line.iter_mut().take(col[b]).skip(col[a] + 1) {
                    *c = '─';
                }
                line[col[a]] = '└';
                line[col[b]] = '┘';
                closed[a] = true;
                closed[b] = true;
            }
            out.push(line.into_iter().collect::<String>().trim_end().to_string());
        }
        for (name, taken, fresh) in &w.boxes {
            let show = |v: &[usize]| v.iter().map(|&i| labels[i].clone()).collect::<Vec<_>>().join(" ");
            out.push(format!("[{name}: {} → {}]", show(taken), show(fresh)));
        }
        let open: Vec<&str> = w.open.iter().map(|&i| labels[i].as_str()).collect();
        if w.boxes.is_empty() {
            let mut last: Vec<char> = vec![' '; at + 8];
            for &i in &w.open {
                for (j, ch) in labels[i].chars().enumerate() {
                    last[col[i] + j] = ch;
                }
            }
            out.push(last.into_iter().collect::<String>().trim_end().to_string());
        } else {
            out.push(format!("open: {}", open.join(" ")));
        }
        out.join("\n") + "\n"
    }
}

/// The usual types: nouns `n`, intransitive and transitive verbs, adjectives, adverbs.
pub mod types {
    pub const NOUN: &str = "n";
    pub const INTRANSITIVE: &str = "n.r s";
    pub const TRANSITIVE: &str = "n.r s n.l";
    pub const ADJECTIVE: &str = "n n.l";
}
