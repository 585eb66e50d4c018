//! Byte offsets → 1-based line and column (columns count characters).
//!
//! The index keeps one checkpoint per 4 KiB block rather than one entry per line, so it costs
//! well under 1% of the text however short the lines are, and a lookup scans at most one
//! block however long the line is (a whole file on one line stays linear, not quadratic).

const BLOCK: usize = 4096;

/// State at the start of a block.
#[derive(Clone, Copy, Debug)]
struct Checkpoint {
    /// Newlines before the block (the 0-based line the block starts in).
    line: usize,
    /// Byte offset where that line starts.
    line_start: usize,
    /// Characters from the line start up to the block start.
    chars: usize,
}

pub struct LineIndex<'a> {
    src: &'a str,
    /// `blocks[k]` describes offset `k * BLOCK`; the last one may describe `src.len()`.
    blocks: Vec<Checkpoint>,
}

/// Characters that start in `bytes` (UTF-8 lead bytes and ASCII).
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let bytes = src.as_bytes();
        let mut blocks = Vec::with_capacity(bytes.len() / BLOCK + 1);
        let mut at = Checkpoint {
            line: 0,
            line_start: 0,
            chars: 0,
        };
        for (k, block) in bytes.chunks(BLOCK).enumerate() {
            blocks.push(at);
            let base = k * BLOCK;
            let n = newlines(block);
            if n == 0 {
                at.chars += char_starts(block);
            } else {
                let last = block.iter().rposition(|&b| b == b'\n').unwrap_or(0);
                at.line += n;
                at.line_start = base + last + 1;
                at.chars = char_starts(&block[last + 1..]);
            }
        }
        blocks.push(at);
        LineIndex { src, blocks }
    }

    /// `(line, column)` of a byte offset, both 1-based. An offset inside a multi-byte
    /// character counts bytes from the line start instead.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let bytes = self.src.as_bytes();
        let k = offset / BLOCK;
        let at = self.blocks[k];
        let base = k * BLOCK;
        let segment = &bytes[base..offset];
        let n = newlines(segment);
        let (line_start, chars_before) = if n == 0 {
            (at.line_start, at.chars)
        } else {
            let last = segment.iter().rposition(|&b| b == b'\n').unwrap_or(0);
            (base + last + 1, 0)
        };
        let column = if self.src.is_char_boundary(offset) {
            chars_before + char_starts(&bytes[line_start.max(base)..offset])
        } else {
            offset - line_start
        };
        (at.line + n + 1, column + 1)
    }

    pub fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.src.len());
        let k = offset / BLOCK;
        self.blocks[k].line + newlines(&self.src.as_bytes()[k * BLOCK..offset]) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward definition the index must agree with.
    fn naive(src: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(src.len());
        let before = &src.as_bytes()[..offset];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = before.iter().filter(|&&b| b == b'\n').count();
        let column = src
            .get(line_start..offset)
            .map_or(offset - line_start, |s| s.chars().count());
        (line + 1, column + 1)
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let index = LineIndex::new("ab\nélan x\n");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(3), (2, 1));
        assert_eq!(index.position(9), (2, 6));
        assert_eq!(index.position(100), (3, 1));
    }

    #[test]
    fn agrees_with_the_definition_across_blocks() {
        // Long lines spanning blocks, short lines, multi-byte characters straddling block
        // boundaries, and offsets inside characters.
        let mut src = String::new();
        let pieces = ["a", "é", "😀", "\n", "xyz ", "\n\n", "ß", "€"];
        let mut state = 7u64;
        while src.len() < 5 * BLOCK + 123 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let piece = pieces[(state >> 33) as usize % pieces.len()];
            let repeat = if (state >> 20).is_multiple_of(17) {
                900
            } else {
                1
            };
            for _ in 0..repeat {
                src.push_str(piece);
            }
        }
        let index = LineIndex::new(&src);
        let near_boundary = |o: usize| o % BLOCK < 8 || o % BLOCK > BLOCK - 8;
        for offset in (0..=src.len() + 2).filter(|&o| o % 5 == 0 || near_boundary(o)) {
            let expected = naive(&src, offset);
            assert_eq!(index.position(offset), expected, "offset {offset}");
            assert_eq!(index.line(offset), expected.0, "offset {offset}");
        }
        for len in [0, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK] {
            let src = "é".repeat(len / 2) + &"\n".repeat(len % 2);
            let index = LineIndex::new(&src);
            for offset in [0, 1, len / 2, src.len().saturating_sub(1), src.len()] {
                assert_eq!(index.position(offset), naive(&src, offset));
            }
        }
    }

    #[test]
    fn one_long_line_is_linear() {
        let src = "DELETE FROM t; ".repeat(200_000);
        let index = LineIndex::new(&src);
        let started = std::time::Instant::now();
        let mut sum = 0;
        for offset in (0..src.len()).step_by(97) {
            sum += index.position(offset).1;
        }
        assert!(sum > 0);
        // Quadratic (counting from the line start) would take minutes here.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
