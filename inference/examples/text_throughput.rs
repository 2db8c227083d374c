//! Embedding throughput of the text encoder on catalog-like texts (title, description,
//! genres, tags), batch sizes compared.
//!
//! ```sh
//! scripts/setup-text-model.sh    # once: builds .tools/text-model
//! cargo run --release -p inference --example text_throughput -- [MODEL_DIR] [--items N] [--threads T]
//! ```
//! Prints items/s for batches of 1, 8, 32 and 64 texts with T intra-op threads (default 2,
//! the machine's cores), and the texts' token counts.

use std::time::Instant;

use inference::rng::SplitMix64;
use inference::runtime::{OrtRuntime, locate_dylib};
use inference::text::{TextEncoder, TextEncoderFiles, locate_text_model};

const BATCHES: [usize; 4] = [1, 8, 32, 64];

const TITLE_WORDS: &[&str] = &[
    "night", "river", "silent", "last", "city", "star", "hunter", "golden", "broken", "winter", "secret", "empire",
    "shadow", "ocean", "return", "dream", "fire", "garden", "storm", "letter",
];
const DESCRIPTION_WORDS: &[&str] = &[
    "a",
    "young",
    "detective",
    "must",
    "uncover",
    "the",
    "truth",
    "behind",
    "her",
    "family's",
    "past",
    "while",
    "an",
    "android",
    "crosses",
    "galaxy",
    "to",
    "find",
    "its",
    "maker",
    "two",
    "estranged",
    "brothers",
    "reunite",
    "for",
    "one",
    "final",
    "heist",
    "in",
    "rain-soaked",
    "streets",
    "of",
    "small",
    "town",
    "where",
    "nothing",
    "is",
    "what",
    "it",
    "seems",
    "love",
    "story",
    "set",
    "against",
    "war",
    "and",
    "music",
    "with",
    "unexpected",
    "friendship",
    "between",
    "boy",
    "dragon",
    "comedy",
    "about",
    "chef",
    "who",
    "loses",
    "sense",
    "taste",
    "documentary",
    "following",
    "climbers",
    "on",
    "world's",
    "most",
    "dangerous",
    "mountain",
    "thriller",
    "that",
    "keeps",
    "audiences",
    "guessing",
    "until",
    "end",
];
const GENRES: &[&str] =
    &["Drama", "Comedy", "Thriller", "Sci-Fi", "Romance", "Documentary", "Animation", "Horror", "Crime", "Adventure"];
const TAGS: &[&str] =
    &["based on a true story", "slow burn", "twist ending", "family friendly", "dystopia", "heist", "coming of age"];

fn pick<'a>(rng: &mut SplitMix64, words: &[&'a str], n: usize) -> Vec<&'a str> {
    (0..n).map(|_| words[rng.below(words.len())]).collect()
}

/// What the background embedder sends: title, description, genres and tags in one text.
fn catalog_text(rng: &mut SplitMix64) -> String {
    let n = 1 + rng.below(4);
    let title = pick(rng, TITLE_WORDS, n).join(" ");
    let n = 20 + rng.below(50);
    let description = pick(rng, DESCRIPTION_WORDS, n).join(" ");
    let n = 1 + rng.below(3);
    let genres = pick(rng, GENRES, n).join(", ");
    let n = rng.below(3);
    let tags = pick(rng, TAGS, n).join(", ");
    format!("{title}. {description}. Genres: {genres}. Tags: {tags}.")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir = locate_text_model();
    let mut items = 512usize;
    let mut threads = 2usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--items" => items = args.next().ok_or("--items needs a number")?.parse()?,
            "--threads" => threads = args.next().ok_or("--threads needs a number")?.parse()?,
            other => dir = other.into(),
        }
    }
    OrtRuntime::init(&locate_dylib())?;
    let files = TextEncoderFiles::in_dir(&dir);
    if !files.exist() {
        return Err(format!("no text model in {} (run scripts/setup-text-model.sh)", dir.display()).into());
    }
    let encoder = TextEncoder::load(&files, threads)?;
    let mut rng = SplitMix64::new(42);
    let texts: Vec<String> = (0..items).map(|_| catalog_text(&mut rng)).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: Vec<usize> =
        refs.iter().map(|t| encoder.token_ids(t).map(|ids| ids.len())).collect::<Result<_, _>>()?;
    let mean_tokens = tokens.iter().sum::<usize>() as f64 / tokens.len() as f64;
    println!(
        "model {} ({} dims), {items} catalog texts, {mean_tokens:.0} tokens on average (max {}), {threads} intra-op threads",
        encoder.model_key(),
        encoder.dims(),
        tokens.iter().max().copied().unwrap_or(0),
    );
    // Warm-up: the first runs allocate and pick kernels.
    encoder.embed(&refs[..refs.len().min(64)])?;
    println!("{:>6}  {:>10}  {:>12}", "batch", "items/s", "ms/batch");
    for batch in BATCHES {
        let start = Instant::now();
        for chunk in refs.chunks(batch) {
            encoder.embed(chunk)?;
        }
        let secs = start.elapsed().as_secs_f64();
        let batches = refs.len().div_ceil(batch);
        println!("{batch:>6}  {:>10.1}  {:>12.2}", items as f64 / secs, 1000.0 * secs / batches as f64);
    }
    Ok(())
}
