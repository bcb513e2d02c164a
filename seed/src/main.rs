//! `seed`: writes realistic Open edX courses into the stack named by an env file, and the
//! manifest of what a correct migration must produce.

use std::path::PathBuf;

use activities::stores::settings::{Env, StoreSettings};
use anyhow::Context;
use clap::Parser;
use seed::{Dataset, Plan};

#[derive(Parser)]
#[command(about = "Seed MongoDB, edx-val and S3 with Open edX courses, videos and transcripts")]
struct Args {
    /// KEY=VALUE file with the store settings (default: the local stack's).
    #[arg(long, env = "MIGRATOR_ENV_FILE")]
    env_file: Option<PathBuf>,
    /// Seed number: the same number writes the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Suffix for orgs and known edx_video_ids, to keep datasets apart.
    #[arg(long, default_value = "")]
    tag: String,
    /// Leave out the hand-made courses that cover every good and broken case.
    #[arg(long)]
    no_showcase: bool,
    /// Leave out the two courses with a rerun each that share an edx-val video.
    #[arg(long)]
    no_reruns: bool,
    /// Generated courses (every fourth one in the old Mongo layout).
    #[arg(long, default_value_t = 2)]
    courses: usize,
    #[arg(long, default_value_t = 4)]
    videos: usize,
    #[arg(long, default_value_t = 3)]
    languages: usize,
    /// Cues per generated transcript (about 60 bytes of SJSON each).
    #[arg(long, default_value_t = 40)]
    cues: usize,
    /// Keep only hashes of the expected SJSON in the manifest.
    #[arg(long)]
    lean_manifest: bool,
    /// Where to write the manifest (default: next to the env file, seed-manifest.json).
    #[arg(long)]
    manifest: Option<PathBuf>,
}

fn default_env_file() -> PathBuf {
    let stack_dir = std::env::var("STACK_DIR").unwrap_or_else(|_| ".stack".into());
    PathBuf::from(stack_dir).join("stack.env")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let args = Args::parse();
    let env_file = args.env_file.unwrap_or_else(default_env_file);
    let env = Env::load(Some(&env_file)).with_context(|| "is the stack up? run scripts/stack start")?;
    let settings = StoreSettings::from_env(&env)?;
    let plan = Plan {
        seed: args.seed,
        tag: args.tag,
        showcase: !args.no_showcase,
        bulk_courses: args.courses,
        videos_per_course: args.videos,
        languages_per_video: args.languages,
        cues_per_transcript: args.cues,
        lean_manifest: args.lean_manifest,
        bulk_old_mongo: true,
        reruns: !args.no_showcase && !args.no_reruns,
    };
    let started = std::time::Instant::now();
    let dataset = Dataset::generate(&plan);
    let manifest = seed::write::seed(&dataset, &settings).await?;
    let path = args.manifest.unwrap_or_else(|| env_file.with_file_name("seed-manifest.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest)?).with_context(|| format!("writing {}", path.display()))?;
    let t = &manifest.totals;
    println!(
        "seeded {} courses, {} videos, {} assets ({} transcripts to migrate, {} videos that must fail) in {:.1}s\nmanifest: {}",
        t.courses,
        t.videos,
        t.assets,
        t.transcripts_to_migrate,
        t.failed_videos,
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(())
}
