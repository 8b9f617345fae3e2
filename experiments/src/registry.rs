//! Name → experiment: every experiment compiled into the binary.

use reprise_core::Experiment;

static ALL: &[&dyn Experiment] = &[&crate::demo::pi::Pi, &crate::causal::lalonde::Lalonde, &crate::causal::simulation::Simulation, &crate::rdd::scalar::Scalar, &crate::rdd::r3d::experiment::R3d, &crate::rdd::r3d::simulation::R3dSimulation, &crate::rdd::jump_simulation::JumpSimulation, &crate::discocat::experiment::Gs2011, &crate::discocat::compose::Compose, &crate::qbs::experiment::Regression, &crate::qbs::experiment::Sprinkler, &crate::qbs::experiment::Hmm, &crate::qbs::experiment::DeFinetti, &crate::qbs::experiment::Gp, &crate::qbs::experiment::Clustering];

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
