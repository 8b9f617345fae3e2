//! Cross-fitting folds. Default rule: fold(i) = i mod K in row order; shuffled folds permute those
//! labels with a Fisher–Yates shuffle driven by a named random stream.

use rand::Rng;

/// Fold label of every row.
pub fn assign(n: usize, k: usize, shuffle: Option<&mut dyn rand::RngCore>) -> Vec<usize> {
    let mut f: Vec<usize> = (0..n).map(|i| i % k).collect();
    if let Some(rng) = shuffle {
        for i in (1..n).rev() {
            let j = rng.random_range(0..=i);
            f.swap(i, j);
        }
    }
    f
}

/// Rows in fold `k` and rows outside it, each in row order.
pub fn split(folds: &[usize], k: usize) -> (Vec<usize>, Vec<usize>) {
    (0..folds.len()).partition(|&i| folds[i] == k)
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_rule_is_row_mod_k_and_shuffles_keep_sizes() {
        assert_eq!(super::assign(7, 3, None), vec![0, 1, 2, 0, 1, 2, 0]);
        let mut rng = reprise_core::Seed(1).stream("folds");
        let mut s = super::assign(103, 5, Some(&mut rng));
        assert_ne!(s, super::assign(103, 5, None));
        s.sort();
        let mut d = super::assign(103, 5, None);
        d.sort();
        assert_eq!(s, d);
    }
}
