//! The compressed form of a lead's document (state, genesis, journal) in its state
//! item. DynamoDB bills a write per started kilobyte of the whole item, before and
//! after, so the size of this one attribute decides what every lead write costs: a
//! fast-lane MQL's 3.5 KB of JSON is 4 units a write as text, 1 compressed.
//!
//! Raw DEFLATE with a preset dictionary: a document of a few kilobytes is mostly the
//! same field names and phrases as every other one, which plain DEFLATE can only
//! exploit within the document itself. The dictionary (`document_dictionary.json`, a
//! typical document) primes the compressor with them, which roughly halves the output
//! again. The first byte names the dictionary: a document written with one must be read
//! with the same one forever, so a better dictionary is a new format byte beside the
//! old, never a change of the file.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Raw DEFLATE primed with [`DICTIONARY_V1`].
const FORMAT_V1: u8 = 1;
const DICTIONARY_V1: &[u8] = include_bytes!("document_dictionary.json");

/// No lead document comes near this: a larger output is a corrupt or hostile item, and
/// reading stops there instead of allocating without bound.
const MAX_DOCUMENT_BYTES: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("empty document")]
    Empty,
    #[error("unknown document format {0}")]
    UnknownFormat(u8),
    #[error("document does not inflate: {0}")]
    Inflate(String),
    #[error("document inflates past {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
}

/// `json` compressed, behind its format byte.
pub fn compress(json: &[u8]) -> Vec<u8> {
    let mut deflate = Compress::new(Compression::best(), false);
    // Setting the dictionary of a fresh raw stream cannot fail with the zlib backend;
    // if it ever did, the output would still be a valid stream without it, which the
    // reader (which always sets it) would misread, so fall back to a stored copy.
    if deflate.set_dictionary(DICTIONARY_V1).is_err() {
        return stored(json);
    }
    // DEFLATE never grows its input by more than a few bytes per 16 KB block.
    let mut out = Vec::with_capacity(1 + json.len() + json.len() / 1000 + 64);
    out.push(FORMAT_V1);
    loop {
        let before = deflate.total_in() as usize;
        match deflate.compress_vec(
            &json[before.min(json.len())..],
            &mut out,
            FlushCompress::Finish,
        ) {
            Ok(Status::StreamEnd) => return out,
            Ok(_) => out.reserve(out.capacity().max(256)),
            Err(_) => return stored(json),
        }
    }
}

/// Format 0: the JSON as it is. Written only if compression failed, read always.
const FORMAT_STORED: u8 = 0;

fn stored(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 1);
    out.push(FORMAT_STORED);
    out.extend_from_slice(json);
    out
}

/// The JSON a [`compress`]ed document holds.
pub fn decompress(document: &[u8]) -> Result<Vec<u8>, DocumentError> {
    let (&format, body) = document.split_first().ok_or(DocumentError::Empty)?;
    match format {
        FORMAT_STORED => Ok(body.to_vec()),
        FORMAT_V1 => inflate(body, DICTIONARY_V1),
        other => Err(DocumentError::UnknownFormat(other)),
    }
}

fn inflate(body: &[u8], dictionary: &[u8]) -> Result<Vec<u8>, DocumentError> {
    let mut inflate = Decompress::new(false);
    inflate
        .set_dictionary(dictionary)
        .map_err(|e| DocumentError::Inflate(e.to_string()))?;
    let mut out = Vec::with_capacity(body.len() * 4);
    loop {
        let read = inflate.total_in() as usize;
        let status = inflate
            .decompress_vec(
                &body[read.min(body.len())..],
                &mut out,
                FlushDecompress::Finish,
            )
            .map_err(|e| DocumentError::Inflate(e.to_string()))?;
        match status {
            Status::StreamEnd => return Ok(out),
            _ if out.len() >= MAX_DOCUMENT_BYTES => return Err(DocumentError::TooLarge),
            // Every byte read and room left to write, yet no end: the stream is cut short.
            _ if inflate.total_in() as usize >= body.len() && out.len() < out.capacity() => {
                return Err(DocumentError::Inflate("truncated".into()))
            }
            _ => out.reserve(out.capacity().max(1024)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_comes_back_as_it_went_in_and_smaller() {
        let json =
            br#"{"state":{"lead_id":"ld_1","status":"mql","profile":{"email":"kim@fabrikam.io"}}}"#;
        let packed = compress(json);
        assert_eq!(packed[0], FORMAT_V1);
        assert!(
            packed.len() < json.len() / 2,
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(decompress(&packed).unwrap(), json);
    }

    #[test]
    fn the_dictionary_is_what_makes_a_typical_document_small() {
        // The dictionary itself is the most typical document there is.
        let with = compress(DICTIONARY_V1).len();
        let without = {
            let mut plain = Compress::new(Compression::best(), false);
            let mut out = Vec::with_capacity(DICTIONARY_V1.len() * 2);
            plain
                .compress_vec(DICTIONARY_V1, &mut out, FlushCompress::Finish)
                .unwrap();
            out.len()
        };
        assert!(with * 4 < without, "with {with}, without {without}");
    }

    #[test]
    fn a_bad_document_is_an_error_not_a_panic() {
        assert!(matches!(decompress(&[]), Err(DocumentError::Empty)));
        assert!(matches!(
            decompress(&[9, 1, 2]),
            Err(DocumentError::UnknownFormat(9))
        ));
        let packed = compress(&[b'x'; 5000]);
        assert!(decompress(&packed[..packed.len() / 2]).is_err());
        assert!(decompress(&[FORMAT_V1, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(decompress(&stored(b"{}")).unwrap(), b"{}");
    }

    #[test]
    fn a_document_that_inflates_without_bound_is_refused() {
        // 64 MB of zeros compress to about 64 KB: a small item that would not fit in memory.
        let zeros = vec![0u8; 64 << 20];
        let packed = compress(&zeros);
        assert!(matches!(decompress(&packed), Err(DocumentError::TooLarge)));
    }
}
