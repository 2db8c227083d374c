//! Writes what `bench/crosscheck_implicit.sh` needs to compare our ALS with `implicit`
//! step for step: the ml-100k training split, shared random initial factors, and our
//! factors after fitting from them.
//!
//! ```sh
//! cargo run --release -p inference --example crosscheck_implicit -- DATA_DIR OUT_DIR ALPHA ITERATIONS
//! ```

use std::io::Write;
use std::path::Path;

use inference::als::{AlsModel, AlsParams};
use inference::eval::{SplitRule, split_per_user};
use inference::movielens::MovieLens;
use inference::rng::SplitMix64;
use ndarray::Array2;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data_dir, out_dir, alpha, iterations] = args.as_slice() else {
        return Err("usage: crosscheck_implicit DATA_DIR OUT_DIR ALPHA ITERATIONS".into());
    };
    let out = Path::new(out_dir);
    std::fs::create_dir_all(out)?;
    let ml = MovieLens::load(Path::new(data_dir))?;
    let split = split_per_user(&ml.all_as_interactions()?, 42, SplitRule::default())?;
    let train = &split.train;
    let params = AlsParams {
        factors: 64,
        regularization: 0.05,
        alpha: alpha.parse()?,
        iterations: iterations.parse()?,
        cg_steps: 3,
        seed: 42,
        threads: 2,
    };
    let mut rng = SplitMix64::new(7);
    let mut init = |rows: usize| Array2::from_shape_simple_fn((rows, params.factors), || rng.next_f32() * 0.01);
    let (x0, y0) = (init(train.n_rows()), init(train.n_cols()));

    let mut t = std::io::BufWriter::new(std::fs::File::create(out.join("train.txt"))?);
    writeln!(t, "{} {}", train.n_rows(), train.n_cols())?;
    for (u, i, w) in train.triplets() {
        writeln!(t, "{u} {i} {w}")?;
    }
    t.flush()?;
    write_matrix(&out.join("init_user.txt"), &x0)?;
    write_matrix(&out.join("init_item.txt"), &y0)?;
    let model = AlsModel::fit_from(train, &params, x0, y0, |_| true)?;
    write_matrix(&out.join("ours_user.txt"), model.user_factors())?;
    write_matrix(&out.join("ours_item.txt"), model.item_factors())?;
    Ok(())
}

fn write_matrix(path: &Path, m: &Array2<f32>) -> BoxResult<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for row in m.rows() {
        let line: Vec<String> = row.iter().map(|v| format!("{v:e}")).collect();
        writeln!(f, "{}", line.join(" "))?;
    }
    f.flush()?;
    Ok(())
}
