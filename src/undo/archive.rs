//! The inside of a snapshot file (before zstd and age): a magic line, then sections, each a
//! header line and its bytes in length-prefixed chunks (a zero length ends it). Sections
//! stream in and out, so neither taking nor reading a snapshot holds a table in memory.
//!
//! ```text
//! DBGUARD-SNAPSHOT 1\n
//! SECTION manifest\n  <chunks: the manifest JSON>  0u32
//! SECTION 0 sql\n     <chunks: pg_dump -Fp of a table>  0u32
//! SECTION 1 copy\n    <chunks: COPY … TO STDOUT text>  0u32
//! END\n
//! ```

use std::io::{self, BufRead, Read, Write};

pub const MAGIC: &str = "DBGUARD-SNAPSHOT 1\n";
const CHUNK: usize = 256 * 1024;

/// Writes sections into `inner`.
pub struct Writer<W: Write> {
    inner: W,
}

impl<W: Write> Writer<W> {
    pub fn new(mut inner: W) -> io::Result<Self> {
        inner.write_all(MAGIC.as_bytes())?;
        Ok(Writer { inner })
    }

    /// Starts a section; write its bytes to the returned writer, then `end` it.
    pub fn section(&mut self, header: &str) -> io::Result<Section<'_, W>> {
        debug_assert!(!header.contains('\n'));
        writeln!(self.inner, "SECTION {header}")?;
        Ok(Section {
            inner: &mut self.inner,
            buf: Vec::with_capacity(CHUNK),
            bytes: 0,
        })
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(b"END\n")?;
        Ok(self.inner)
    }
}

/// The bytes of one section being written, chunked.
pub struct Section<'a, W: Write> {
    inner: &'a mut W,
    buf: Vec<u8>,
    pub bytes: u64,
}

impl<W: Write> Section<'_, W> {
    fn flush_chunk(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.inner
            .write_all(&(self.buf.len() as u32).to_be_bytes())?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    pub fn end(mut self) -> io::Result<u64> {
        self.flush_chunk()?;
        self.inner.write_all(&0u32.to_be_bytes())?;
        Ok(self.bytes)
    }
}

impl<W: Write> Write for Section<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        self.bytes += n as u64;
        if self.buf.len() == CHUNK {
            self.flush_chunk()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads sections from a decompressed snapshot stream.
pub struct Reader<R: BufRead> {
    inner: R,
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

impl<R: BufRead> Reader<R> {
    pub fn new(mut inner: R) -> io::Result<Self> {
        let mut line = String::new();
        inner.read_line(&mut line)?;
        if line != MAGIC {
            return Err(bad("not a dbguard snapshot"));
        }
        Ok(Reader { inner })
    }

    /// The next section's header, or `None` at the end.
    pub fn next_section(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        self.inner.read_line(&mut line)?;
        match line.strip_suffix('\n') {
            Some("END") => Ok(None),
            Some(rest) => rest
                .strip_prefix("SECTION ")
                .map(|h| Some(h.to_string()))
                .ok_or_else(|| bad("damaged section header")),
            None => Err(bad("the snapshot ends early")),
        }
    }

    /// The current section's bytes (read it to the end before the next section).
    pub fn body(&mut self) -> Body<'_, R> {
        Body {
            inner: &mut self.inner,
            left: 0,
            done: false,
        }
    }
}

pub struct Body<'a, R: BufRead> {
    inner: &'a mut R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Read for Body<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut len = [0u8; 4];
            self.inner.read_exact(&mut len)?;
            self.left = u32::from_be_bytes(len) as usize;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..n])?;
        if n == 0 {
            return Err(bad("the snapshot ends inside a section"));
        }
        self.left -= n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip() {
        let mut w = Writer::new(Vec::new()).unwrap();
        let mut s = w.section("manifest").unwrap();
        s.write_all(b"{}").unwrap();
        s.end().unwrap();
        let mut s = w.section("0 copy").unwrap();
        let big = vec![b'x'; CHUNK * 2 + 7];
        s.write_all(&big).unwrap();
        assert_eq!(s.end().unwrap(), big.len() as u64);
        let bytes = w.finish().unwrap();

        let mut r = Reader::new(io::Cursor::new(bytes)).unwrap();
        assert_eq!(r.next_section().unwrap().as_deref(), Some("manifest"));
        let mut text = String::new();
        r.body().read_to_string(&mut text).unwrap();
        assert_eq!(text, "{}");
        assert_eq!(r.next_section().unwrap().as_deref(), Some("0 copy"));
        let mut data = Vec::new();
        r.body().read_to_end(&mut data).unwrap();
        assert_eq!(data, big);
        assert_eq!(r.next_section().unwrap(), None);
    }
}
