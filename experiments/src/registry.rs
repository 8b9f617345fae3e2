//! Name → experiment: every experiment compiled into the binary.

use reprise_core::Experiment;

static ALL: &[&dyn Experiment] = &[&crate::demo::pi::Pi, &reprise_causal::lalonde::Lalonde, &reprise_causal::simulation::Simulation, &reprise_rdd::scalar::Scalar, &reprise_rdd::r3d::experiment::R3d, &reprise_rdd::r3d::simulation::R3dSimulation, &reprise_rdd::jump_simulation::JumpSimulation, &reprise_discocat::experiment::Gs2011, &reprise_discocat::compose::Compose, &reprise_qbs::experiment::Regression, &reprise_qbs::experiment::Sprinkler, &reprise_qbs::experiment::Hmm, &reprise_qbs::experiment::DeFinetti, &reprise_qbs::experiment::Gp, &reprise_qbs::experiment::Clustering];

/// Every experiment, in name order.
pub fn all() -> Vec<&'static dyn Experiment> {
    let mut v = ALL.to_vec();
    v.sort_by_key(|e| e.name());
    v
}

/// The experiment called `name`.
pub fn find(name: &str) -> Option<&'static dyn Experiment> {
    ALL.iter().copied().find(|e| e.name() == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_dotted() {
        let names: Vec<_> = super::all().iter().map(|e| e.name()).collect();
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(names, dedup);
        assert!(names.iter().all(|n| n.contains('.')));
    }
}
