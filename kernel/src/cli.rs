//! The command line: every subcommand, its options and the help text that teaches it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const AFTER: &str = "\
Every result gets a hash. `reprise rerun <hash>` gets it back bit for bit from the pinned seed,
git commit, Cargo.lock and toolchain, or says exactly what differs and why.

Exit status: 0 success; 1 a check ran and failed (rerun, reproduce, verify); 2 bad input;
3 internal error.

Examples:
  reprise experiments                         what can run, with parameters
  reprise run demo.pi --seed 7 -p n=2000000    run; the last line printed is the run hash
  reprise rerun 3f9a2c                        rerun by hash prefix and compare every output
  reprise show 3f9a2c --output summary.json   print one output's bytes
  reprise reproduce                           check every lock in lockfiles/";

#[derive(Parser, Debug)]
#[command(name = "reprise", version, about = "Reproducible experiment runner: hashed runs, exact reruns", after_help = AFTER)]
pub struct Cli {
    /// Store directory [default: artifacts/ in the repository]
    #[arg(long, global = true, env = "REPRISE_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// The git repository whose code runs are recorded against [default: the one this binary was built from]
    #[arg(long, global = true, env = "REPRISE_REPO", value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Print machine-readable JSON instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run an experiment (or return its stored record when this exact spec already ran)
    Run(RunArgs),
    /// Run an experiment over seeds × a parameter grid, in parallel; the sweep gets a hash
    Sweep(SweepArgs),
    /// Run a stored run (or every cell of a sweep) again and compare every output with the recorded one
    Rerun(RerunArgs),
    /// Show any hash Reprise printed: a run (spec, outputs, provenance; or one output's bytes), a
    /// sweep (grid, tally, aggregate), an aggregate or table, a saved session (cells, outputs)
    Show(ShowArgs),
    /// List recorded runs, newest first
    Runs(RunsArgs),
    /// List the experiments compiled into this binary, with their parameters
    Experiments,
    /// Rehash every object in the store; move corrupt ones aside and report them and missing ones
    ///
    /// A corrupt object is moved to quarantine/ in the store (never deleted), so that the next
    /// put, bundle import, pull or rerun that produces its bytes restores it. `--repair` does that
    /// in one step: it reruns every recorded run that made a lost object and reports what came back.
    Verify(VerifyArgs),
    /// Delete objects that no ref, run, sweep, session, lockfile or running process reaches
    ///
    /// Kept: everything reachable from a ref (runs, sweeps with their aggregates and tables,
    /// saved sessions with their outputs, reruns' new records), from the repository's lockfiles,
    /// and from the temporary roots of every reprise process still running (a run, a sweep, an
    /// import or a pull in progress: `pins/` in the store); and every unreachable object younger
    /// than --keep-newer. A temporary root left by a process that died is discarded and named.
    /// An object of a Reprise kind this build does not know stops gc before it deletes anything.
    /// While it deletes, gc holds the store's lock; a run that must wait for it says so.
    Gc(GcArgs),
    /// Stop keeping runs, sweeps or sessions: remove the refs that keep them, so the next `gc`
    /// can delete what nothing else needs
    ///
    /// A run (its record or spec): its memo, note and rerun refs. A sweep: its manifest and
    /// aggregate refs (its cells stay, as runs). An aggregate: its ref. A session: its ref.
    /// Nothing is deleted here; `reprise gc` does that, after --keep-newer.
    #[command(after_help = "Example: reprise rm 3f9a2c --dry-run")]
    Rm(RmArgs),
    /// Pin a run as a reproduction: write lockfiles/<name>.json
    Lock(LockArgs),
    /// Run every lock in lockfiles/ with the current code and compare outputs with the pins
    Reproduce(ReproduceArgs),
    /// Share runs as one file: export, verify, import, ls
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Share runs through a remote store (a folder or an S3 bucket): add, ls, rm, push, pull
    #[cfg(feature = "remote")]
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Low-level object commands: put, get, resolve
    #[command(subcommand)]
    Store(StoreCommand),
    /// The Jupyter kernel: `install` registers it, `--connection-file` runs it (Jupyter does that)
    Kernel(KernelArgs),
    /// Plumbing used by `rerun` across commits; not for direct use
    #[command(subcommand, hide = true)]
    Internal(InternalCommand),
}

/// `reprise bundle …`: a bundle is one zstd-compressed tar with the runs' records, specs, every
/// object they reach, a SHA256SUMS and a git bundle of the commits that made them.
#[derive(Subcommand, Debug)]
pub enum BundleCommand {
    /// Write runs, sweeps or saved sessions (their hashes, or unique prefixes) and everything they need to FILE
    #[command(after_help = "A sweep's hash (or its aggregate's) carries every recorded cell's run, the aggregate and its tables;\na session's hash its outputs and dependency lock.\n\nExample: reprise bundle export 3f9a2c 77be01 -o results.reprise")]
    Export {
        #[arg(required = true)]
        hashes: Vec<String>,
        /// The bundle file to write (replaced only once complete)
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        /// Leave out the history the receiver already has: everything reachable from REV (a
        /// commit, tag or branch the receiver's repository holds; it must, or import refuses)
        #[arg(long, value_name = "REV")]
        since: Option<String>,
    },
    /// Check every digest, the record → object closure and the git pack, without running or keeping anything
    Verify {
        file: PathBuf,
        #[command(flatten)]
        limits: BundleLimits,
    },
    /// Verify, then add the objects to the store, record the runs and import their commits into the repository
    #[command(after_help = "Then `reprise rerun <hash>` reproduces a run from the bundle on this machine.")]
    Import {
        file: PathBuf,
        #[command(flatten)]
        limits: BundleLimits,
    },
    /// List the runs a bundle carries (after verifying it)
    Ls {
        file: PathBuf,
        #[command(flatten)]
        limits: BundleLimits,
    },
}

/// A bundle is untrusted input: reading stops, keeping nothing, past these caps.
#[derive(Args, Debug)]
pub struct BundleLimits {
    /// Most bytes the bundle may expand to (e.g. 500MiB, 64GiB)
    #[arg(long, value_name = "SIZE", default_value = "64GiB", value_parser = parse_size)]
    pub max_expanded: u64,
    /// Most entries (objects and metadata files) the bundle may hold
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_entries: u64,
}

impl BundleLimits {
    pub fn limits(&self) -> reprise_store::bundle::Limits {
        reprise_store::bundle::Limits { max_expanded: self.max_expanded, max_entries: self.max_entries }
    }
}

/// `123`, `500MB`, `500MiB`, `64GiB`, `1.5GB`: a byte count.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a size: give a number and a unit, e.g. 500MiB or 64GiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        u => return Err(format!("`{u}` is not a size unit: use B, KB, KiB, MB, MiB, GB, GiB, TB or TiB")),
    };
    Ok((n * mult as f64).round() as u64)
}

/// `reprise remote …`: a remote holds objects and one manifest per pushed run; every member of a
/// lab points `reprise` at the same one and pushes and pulls runs instead of mailing files.
#[cfg(feature = "remote")]
#[derive(Subcommand, Debug)]
pub enum RemoteCommand {
    /// Remember a remote: file:///absolute/path or s3://bucket/prefix
    #[command(after_help = "Examples:\n  reprise remote add lab s3://lab-runs/reprise\n  reprise remote add minio s3://runs --endpoint http://127.0.0.1:9000\n  reprise remote add shared file:///mnt/group/reprise\n\nS3 credentials are read from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)\nwhen a command connects; they are never written to the store.")]
    Add {
        name: String,
        url: String,
        /// An S3-compatible server (MinIO, Ceph, s3s-fs …); AWS itself when absent
        #[arg(long)]
        endpoint: Option<String>,
        /// The bucket's region (default: AWS_REGION, or us-east-1)
        #[arg(long)]
        region: Option<String>,
        /// Make a file:// remote's folder now (otherwise it must exist when first used)
        #[arg(long)]
        create: bool,
    },
    /// List the remotes, or with NAME the runs pushed to that remote
    Ls { name: Option<String> },
    /// Forget a remote (its contents are left alone)
    Rm { name: String },
    /// Send runs, sweeps or sessions (all the store keeps when none are named), their objects and commits
    #[command(after_help = "Only what the remote lacks is sent, so an interrupted push completes when run again.")]
    Push {
        name: String,
        hashes: Vec<String>,
        /// Make a file:// remote's folder if it does not exist (a missing folder is an error
        /// otherwise: it may be a share that is not mounted)
        #[arg(long)]
        create: bool,
        #[command(flatten)]
        transfer: TransferArgs,
    },
    /// Fetch runs, sweeps or sessions (all on the remote when none are named); each object is verified before it is kept
    #[command(after_help = "Then `reprise rerun <hash>` reproduces a pulled run on this machine.")]
    Pull {
        name: String,
        hashes: Vec<String>,
        #[command(flatten)]
        transfer: TransferArgs,
    },
}

#[cfg(feature = "remote")]
#[derive(Args, Debug)]
pub struct TransferArgs {
    /// Transfers in flight at once
    #[arg(long, default_value_t = 8)]
    pub jobs: usize,
    /// Retries of a failed request, with exponential backoff (S3 remotes)
    #[arg(long, default_value_t = 10)]
    pub retries: usize,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Experiment name, e.g. demo.pi (see `reprise experiments`)
    pub experiment: String,
    /// The run's seed; every random stream derives from it
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A parameter as name=value (repeatable); unspecified ones take their defaults
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// An input file as name=path (repeatable); stored, and named in the spec by digest
    #[arg(long = "input", short = 'i', value_name = "NAME=PATH")]
    pub inputs: Vec<String>,
    /// Run even if this spec's record is already stored
    #[arg(long)]
    pub force: bool,
}

/// `reprise sweep`: seeds × grid points, one run spec per cell, stored as a manifest.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  reprise sweep demo.pi --seeds 0..16 --grid n=10000,20000\n  reprise sweep causal.simulation --seeds 0..=999 -p n=500 --parallel 2\n\n\
Each cell runs with its own seed and grid values, so its result never depends on where it sits in\n\
the sweep. Cells already recorded are not run again: run an interrupted sweep again to finish it.\n\
The last line printed is the sweep hash; `reprise rerun <sweep hash>` re-checks every cell.")]
pub struct SweepArgs {
    /// Experiment name (see `reprise experiments`)
    pub experiment: String,
    /// Seeds: 0..16 (end excluded), 0..=15, or a list 1,5,9
    #[arg(long)]
    pub seeds: String,
    /// A grid axis as name=v1,v2,… (repeatable; the grid is every combination)
    #[arg(long = "grid", value_name = "NAME=V1,V2")]
    pub grid: Vec<String>,
    /// A parameter every cell shares, as name=value (repeatable)
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Where cells run: `local` (processes on this machine) or `slurm` (job arrays; the store
    /// and this binary must be on a filesystem every node reaches; SLURM_CONF as usual)
    #[arg(long, default_value = "local", value_parser = ["local", "slurm"])]
    pub executor: String,
    /// Cells running at once [default: the number of CPUs; with slurm, the array's %K throttle, default 64]
    #[arg(long)]
    pub parallel: Option<usize>,
}

#[derive(Args, Debug)]
pub struct RerunArgs {
    /// Run hash (or spec digest, or sweep hash), full or a unique prefix of at least 6 hex digits
    pub hash: String,
    /// Cargo target dir for builds of pinned commits [default: <store>/cache/target]
    #[arg(long, env = "REPRISE_RERUN_TARGET_DIR", value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A hash Reprise printed (run, spec, sweep, aggregate, table, session), full or a unique prefix
    pub hash: String,
    /// Print the raw bytes of this output of a run instead
    #[arg(long, value_name = "NAME")]
    pub output: Option<String>,
}

#[derive(Args, Debug)]
pub struct RunsArgs {
    /// Only runs of this experiment
    #[arg(long, short)]
    pub experiment: Option<String>,
    /// At most this many rows
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Hashes Reprise printed (runs, specs, sweeps, aggregates, sessions), full or unique prefixes
    #[arg(required = true)]
    pub hashes: Vec<String>,
    /// List the refs that would be removed, remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Rerun the recorded runs that made corrupt or missing objects, then verify again
    #[arg(long)]
    pub repair: bool,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// List what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Keep unreachable objects younger than this (e.g. 30m, 2h, 7d): a second line of defence
    /// for writers gc cannot see, such as a process on another machine sharing the store
    #[arg(long, value_name = "AGE", default_value = "1h", value_parser = humantime::parse_duration)]
    pub keep_newer: std::time::Duration,
    /// Delete every unreachable object now, however young (same as --keep-newer 0s)
    #[arg(long, conflicts_with = "keep_newer")]
    pub now: bool,
}

#[derive(Args, Debug)]
pub struct LockArgs {
    /// Run hash, full or a unique prefix
    pub hash: String,
    /// Lock name (file lockfiles/<name>.json) [default: the experiment's name]
    #[arg(long)]
    pub name: Option<String>,
    /// Replace an existing lock of that name even when it pins another spec (other params, seed,
    /// inputs or experiment)
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// Only these locks (by name) [default: all]
    pub names: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Store files (or stdin with `-`); prints one digest per line
    Put {
        /// Files to store; `-` reads standard input
        files: Vec<PathBuf>,
        /// Read the paths to store from standard input, one per line
        #[arg(long, conflicts_with = "files")]
        stdin_paths: bool,
    },
    /// Write an object's bytes to stdout, checking its digest
    Get { digest: String },
    /// Print the full digest a prefix names
    Resolve { prefix: String },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct KernelArgs {
    /// The connection file Jupyter wrote (ports and signing key)
    #[arg(long, value_name = "FILE")]
    pub connection_file: Option<PathBuf>,
    /// Names the notebook, so its `:dep` versions are pinned in lockfiles/notebooks/NAME.Cargo.lock
    #[arg(long, value_name = "NAME")]
    pub notebook: Option<String>,
    #[command(subcommand)]
    pub action: Option<KernelAction>,
}

#[derive(Args, Debug, Clone)]
#[group(multiple = false)]
pub struct PrefixArgs {
    /// Install for this user (the default)
    #[arg(long)]
    pub user: bool,
    /// Install into the active Python environment (sys.prefix)
    #[arg(long)]
    pub sys_prefix: bool,
    /// Install under DIR/share/jupyter
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum KernelAction {
    /// Write the kernelspec (name `reprise`, display name "Rust (Reprise)")
    Install {
        #[command(flatten)]
        at: PrefixArgs,
        /// Kernelspec name
        #[arg(long, default_value = "reprise")]
        name: String,
        /// Skip building the science crates into the store (`reprise kernel prepare` does it later)
        #[arg(long)]
        no_prepare: bool,
    },
    /// Build the science crates (reprise-rdd, -causal, -discocat, -qbs) into the store's build
    /// cache, so that a notebook's `:dep reprise-rdd` takes seconds. `install` runs it for the
    /// store it names; run it for another store, or after a toolchain change. An edited crate is
    /// rebuilt when a cell brings it in, never served stale.
    Prepare {
        /// Only these (rdd, causal, discocat, qbs; default: all)
        crates: Vec<String>,
    },
    /// Remove the kernelspec
    Uninstall {
        #[command(flatten)]
        at: PrefixArgs,
        #[arg(long, default_value = "reprise")]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum InternalCommand {
    /// Run a stored spec as recorded and print {"record": …, "environment": …}
    RunSpec {
        spec: String,
        #[arg(long, default_value = "")]
        started: String,
        /// Record the run as its spec's memo, and answer the memo at once when there is one (sweep cells)
        #[arg(long)]
        memo: bool,
    },
    /// One Slurm array task of a sweep: run the spec on line $SLURM_ARRAY_TASK_ID of LIST as a
    /// memoised cell and leave an exit record in LIST's folder (rc/<index>)
    SweepTask { list: PathBuf },
}
