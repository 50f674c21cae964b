//! One simulated backend per dialect (each written from that backend's document and the
//! mock's behaviour, sharing no code with the codecs), and the suite that runs a dialect's seeds
//! through the multi-dialect world and prints `simulation[<dialect>]: N seeds, V violations`.

pub mod ai_sdk;
pub mod chat_interfaces;
pub mod chat_v2;
pub mod miptech;
pub mod native;
pub mod openai;
pub mod parlant;

use super::SimRng;
use super::agent::{Agent, Model};
use super::workload::{self, Kind};
use super::world::{Outcome, World};

/// Runs one seed of `dialect`.
pub fn run(dialect: &str, seed: u64, kind: Kind, trace: bool) -> Outcome {
    let mut rng = SimRng::new(seed ^ dialect_salt(dialect));
    let config = workload::config(seed, kind, &mut rng);
    let agent = match kind {
        // far enough below 10,000 that every capped set is full when the ids gain a digit
        Kind::Long { .. } => Agent::starting_at(10_000 - 1_200 - rng.range(0, 50)),
        _ => Agent::new(&mut rng),
    };
    macro_rules! go {
        ($model:expr, $sockets:expr) => {{
            let plan = workload::plan(kind, $sockets, &config, &mut rng);
            let model = $model(agent, plan.step_ms);
            run_world(dialect, model, config, plan, rng, trace)
        }};
    }
    match dialect {
        "native" => {
            let retention = if rng.chance(0.2) {
                rng.range(5, 60) as usize
            } else {
                1_000
            };
            go!(
                |a, s| native::NativeModel::new(a, s).with_retention(retention),
                true
            )
        }
        "chat-v2" => go!(chat_v2::ChatV2Model::new, true),
        "miptech" => go!(miptech::MiptechModel::new, true),
        "parlant" => go!(parlant::ParlantModel::new, false),
        "openai" => go!(openai::OpenAiModel::new, false),
        "ai-sdk" => go!(ai_sdk::AiSdkModel::new, false),
        "chat-interfaces" => {
            let retention = if rng.chance(0.2) {
                rng.range(5, 60) as usize
            } else {
                1_000
            };
            go!(
                |a, s| chat_interfaces::ChatInterfacesModel::new(a, s).with_retention(retention),
                false
            )
        }
        other => Outcome {
            violations: vec![format!("no model for dialect {other}")],
            messages: 0,
            envelopes: 0,
            virtual_ms: 0,
        },
    }
}

fn run_world<M: Model>(
    dialect: &str,
    model: M,
    config: chatwire::Config,
    plan: workload::Plan,
    rng: SimRng,
    trace: bool,
) -> Outcome {
    if model.name() != dialect {
        return Outcome {
            violations: vec![format!("model {} runs dialect {dialect}", model.name())],
            messages: 0,
            envelopes: 0,
            virtual_ms: 0,
        };
    }
    match World::new(model, config, plan, rng, trace) {
        Ok(w) => w.run(),
        Err(e) => Outcome {
            violations: vec![format!("config rejected: {e}")],
            messages: 0,
            envelopes: 0,
            virtual_ms: 0,
        },
    }
}

fn dialect_salt(dialect: &str) -> u64 {
    dialect.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The kind of seed `seed` is in a suite of `seeds` seeds with `long` long seeds first.
pub fn kind_of(seed: u64, long: u64, long_messages: u64) -> Kind {
    if seed < long {
        Kind::Long {
            messages: long_messages,
        }
    } else if seed % 10 == 3 {
        Kind::Flapping
    } else {
        Kind::Short
    }
}
