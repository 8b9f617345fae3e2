//! DisCoCat checks: Milajevs' toy values, diagrams against explicit index loops, typing errors,
//! factorised against materialised similarities, Frobenius lifts, higher-order words, evaluation.

use super::datasets::Dataset;
use super::eval::{self, Judgment};
use super::functor::Functor;
use super::higher_order::{self, truth};
use super::models::{self, Model, Svo};
use super::pregroup::{Diagram, Ty, Word};
use super::triples::Relational;
use super::vectors::Vectors;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const JOHN: [f64; 3] = [4.0, 60.0, 59.0];
const MARY: [f64; 3] = [0.0, 10.0, 22.0];
const LOVES: [f64; 3] = [10.0, 100.0, 20.0];
const V_LOVES: [f64; 9] = [120.0, 1390.0, 658.0, 1360.0, 13670.0, 2874.0, 390.0, 3930.0, 846.0];

fn toy() -> Svo<'static> {
    Svo { s: &JOHN, v: &LOVES, rel: Some(&V_LOVES), o: &MARY }
}

#[test]
fn milajevs_toy_values_are_exact() {
    let x = toy();
    let want: [(Model, Vec<f64>); 6] = [
        (Model::Add, vec![14.0, 170.0, 101.0]),
        (Model::Mult, vec![0.0, 60000.0, 25960.0]),
        (Model::Kronecker, vec![0.0, 40000.0, 17600.0, 0.0, 6000000.0, 2640000.0, 0.0, 1180000.0, 519200.0]),
        (Model::Relational, vec![0.0, 55600.0, 57904.0, 0.0, 8202000.0, 3793680.0, 0.0, 2318700.0, 1098108.0]),
        (Model::SHadamardVo, vec![113504.0, 11995680.0, 3416808.0]),
        (Model::OHadamardVTs, vec![0.0, 10576300.0, 4949692.0]),
    ];
    for (m, w) in want {
        assert_eq!(models::sentence(m, &x).unwrap(), w, "{}", m.name());
    }
}

fn transitive_sentence() -> Diagram {
    let words = vec![Word::new("john", "n").unwrap(), Word::new("loves", "n.r s n.l").unwrap(), Word::new("mary", "n").unwrap()];
    Diagram::reduce(words, &Ty::parse("s").unwrap()).unwrap()
}

fn random(rng: &mut ChaCha8Rng, shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(-1.0..1.0))
}

#[test]
fn a_transitive_diagram_evaluates_to_the_index_loop() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (dn, ds) = (4, 3);
    let mut f = Functor::new(&[("n", dn), ("s", ds)]);
    let (s, t, o) = (random(&mut rng, &[dn]), random(&mut rng, &[dn, ds, dn]), random(&mut rng, &[dn]));
    f.set("john", s.clone()).set("loves", t.clone()).set("mary", o.clone());
    let got = f.eval(&transitive_sentence()).unwrap();
    assert_eq!(got.shape(), &[ds]);
    for k in 0..ds {
        let mut want = 0.0;
        for i in 0..dn {
            for j in 0..dn {
                want += s[[i]] * t[[i, k, j]] * o[[j]];
            }
        }
        assert!((got[[k]] - want).abs() < 1e-12, "k={k}: {} vs {want}", got[[k]]);
    }
}

#[test]
fn adjectives_and_nested_cups_evaluate_to_the_index_loop() {
    // "red dogs chase big cats": adjectives n·n.l, each cup closing inside the next
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (dn, ds) = (3, 2);
    let words = [("red", "n n.l"), ("dogs", "n"), ("chase", "n.r s n.l"), ("big", "n n.l"), ("cats", "n")];
    let d = Diagram::reduce(words.iter().map(|(w, t)| Word::new(w, t).unwrap()).collect(), &Ty::parse("s").unwrap()).unwrap();
    let mut f = Functor::new(&[("n", dn), ("s", ds)]);
    let shapes: [&[usize]; 5] = [&[dn, dn], &[dn], &[dn, ds, dn], &[dn, dn], &[dn]];
    let ts: Vec<ArrayD<f64>> = shapes.iter().map(|s| random(&mut rng, s)).collect();
    for ((w, _), t) in words.iter().zip(&ts) {
        f.set(w, t.clone());
    }
    let got = f.eval(&d).unwrap();
    for k in 0..ds {
        let mut want = 0.0;
        for a in 0..dn {
            for b in 0..dn {
                for c in 0..dn {
                    for e in 0..dn {
                        // red[a,b] dogs[b] chase[a,k,c] big[c,e] cats[e]
                        want += ts[0][[a, b]] * ts[1][[b]] * ts[2][[a, k, c]] * ts[3][[c, e]] * ts[4][[e]];
                    }
                }
            }
        }
        assert!((got[[k]] - want).abs() < 1e-12);
    }
}

#[test]
fn an_ill_typed_sentence_names_the_failing_wire() {
    let words = vec![Word::new("john", "n").unwrap(), Word::new("loves", "n.r s n.l").unwrap()];
    let err = Diagram::reduce(words, &Ty::parse("s").unwrap()).unwrap_err().to_string();
    assert!(err.contains("reduce to s·n.l, not s") && err.contains("wire 3 `n.l` of word 2 `loves`"), "{err}");
    let words = vec![Word::new("loves", "n.r s n.l").unwrap(), Word::new("john", "n").unwrap(), Word::new("mary", "n").unwrap()];
    let err = Diagram::reduce(words, &Ty::parse("s").unwrap()).unwrap_err().to_string();
    assert!(err.contains("wire 1 `n.r` of word 1 `loves`") && err.contains("word 3 `mary`"), "{err}");
    assert!(Ty::parse("n.x").unwrap_err().to_string().contains("adjoints are .l and .r"));
}

#[test]
fn the_text_form_of_john_loves_mary() {
    let d = transitive_sentence();
    assert_eq!(d.to_text(), "john:n loves:n.r·s·n.l mary:n | cup 0-1, cup 3-4 | open 2:s");
    let want = "john  loves      mary\nn     n.r s n.l  n\n└──────┘  │  └───┘\n          s\n";
    assert_eq!(d.draw(), want, "\n{}", d.draw());
}

#[test]
fn the_frobenius_lifts_give_the_relational_and_copy_sentences() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let d = 4;
    let (s, o) = (random(&mut rng, &[d]), random(&mut rng, &[d]));
    let rel: Vec<f64> = random(&mut rng, &[d * d]).into_raw_vec_and_offset().0;
    let v = vec![0.0; d];
    let x = Svo { s: s.as_slice().unwrap(), v: &v, rel: Some(&rel), o: o.as_slice().unwrap() };
    let eval = |verb: ArrayD<f64>, ds: usize| {
        let mut f = Functor::new(&[("n", d), ("s", ds)]);
        f.set("john", s.clone()).set("loves", verb).set("mary", o.clone());
        f.eval(&transitive_sentence()).unwrap().into_raw_vec_and_offset().0
    };
    assert_eq!(eval(models::frobenius_lift(&rel, d), d * d), models::sentence(Model::Relational, &x).unwrap());
    // the copy lifts contract as Σⱼ (sᵢVᵢⱼ) oⱼ where the model computes sᵢ (Σⱼ Vᵢⱼ oⱼ): equal up to rounding
    for (subject, m) in [(true, Model::SHadamardVo), (false, Model::OHadamardVTs)] {
        let (a, b) = (eval(models::copy_lift(&rel, d, subject), d), models::sentence(m, &x).unwrap());
        assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-14), "{}: {a:?} vs {b:?}", m.name());
    }
}

fn vecs(n: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-3.0f64..3.0, n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn factorised_similarities_equal_the_materialised_cosines(
        d in 1usize..6, seed in any::<u64>()
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut draw = |n: usize| -> Vec<f64> { (0..n).map(|_| rng.random_range(-3.0..3.0)).collect() };
        let (s1, v1, r1, o1) = (draw(d), draw(d), draw(d * d), draw(d));
        let (s2, v2, r2, o2) = (draw(d), draw(d), draw(d * d), draw(d));
        let x = Svo { s: &s1, v: &v1, rel: Some(&r1), o: &o1 };
        let y = Svo { s: &s2, v: &v2, rel: Some(&r2), o: &o2 };
        for m in Model::ALL {
            let fact = models::similarity(m, &x, &y).unwrap();
            let full = models::cosine(&models::sentence(m, &x).unwrap(), &models::sentence(m, &y).unwrap());
            prop_assert!((fact - full).abs() <= 1e-12 * (1.0 + full.abs()), "{}: {fact} vs {full}", m.name());
        }
    }

    #[test]
    fn spearman_is_invariant_under_monotone_maps(x in vecs(12), y in vecs(12)) {
        let r = eval::spearman(&x, &y);
        let ex: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        prop_assert!(r.is_nan() || (eval::spearman(&ex, &y) - r).abs() < 1e-12);
    }
}

#[test]
fn spearman_averages_tied_ranks_as_scipy_does() {
    let x = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 0.0];
    let y = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
    assert_eq!(eval::ranks(&x), vec![2.0, 3.5, 3.5, 5.0, 7.0, 7.0, 7.0, 1.0]);
    // scipy.stats.spearmanr 1.17.1 on the same vectors
    assert!((eval::spearman(&x, &y) - 0.055572498390824586).abs() < 1e-15);
}

#[test]
fn gs2011_human_agreement_is_the_published_074() {
    let data = Dataset::Gs2011.load(std::str::from_utf8(super::datasets::GS2011).unwrap()).unwrap();
    assert_eq!((data.items.len(), data.judgments.len()), (200, 2500));
    let a = eval::agreement(&data.judgments, data.items.len());
    assert_eq!(a.annotators, 25);
    assert_eq!(format!("{:.2}", a.leave_one_out), "0.74");
    // the same computation in scipy 1.17.1 (per annotator: spearmanr of their ratings against
    // the mean of the other annotators on those items; mean over annotators)
    assert!((a.leave_one_out - 0.7385649475633717).abs() < 1e-12, "{}", a.leave_one_out);
    assert!((a.mean_pairwise - 0.5990241666130227).abs() < 1e-12, "{}", a.mean_pairwise);
}

#[test]
fn both_protocols_use_the_right_data_points() {
    let j = |a: &str, item: usize, rating: f64| Judgment { annotator: a.into(), item, rating };
    let judgments = vec![j("a", 0, 1.0), j("b", 0, 3.0), j("a", 1, 5.0), j("b", 1, 4.0), j("a", 2, 7.0)];
    let r = eval::rho(&[0.1, 0.2, 0.3], &judgments);
    assert!((r.item_mean - 1.0).abs() < 1e-15);
    let per = eval::spearman(&[0.1, 0.1, 0.2, 0.2, 0.3], &[1.0, 3.0, 5.0, 4.0, 7.0]);
    assert_eq!(r.per_judgment, per);
}

#[test]
fn every_data_set_loads_with_its_documented_shape() {
    // GS2013 holds 199 of the 200 GS2011 items (50 ratings each); KS2013 and GS2012 194 sentence ids
    for (d, items, judgments) in [(Dataset::Gs2011, 200, 2500), (Dataset::Gs2013, 199, 9950), (Dataset::Ml2008, 120, 3600), (Dataset::Ks2013, 194, 8322), (Dataset::Gs2012, 194, 9700)] {
        let data = d.load(std::str::from_utf8(d.embedded().unwrap()).unwrap()).unwrap();
        assert_eq!((data.items.len(), data.judgments.len()), (items, judgments), "{}", d.name());
    }
    // KS2013: the verb sits in the column headed `landmark`
    let ks = Dataset::Ks2013.load(std::str::from_utf8(super::datasets::KS2013).unwrap()).unwrap();
    assert_eq!(ks.items[0].a.text(), "private company file annual account");
    assert_eq!(ks.items[0].b.text(), "private company register annual account");
    let ell = Dataset::Elldis.load("participant\tsent1\tsent2\tscore\np1\tchild write word and father does too\tchild spell word and father does too\t6\n").unwrap();
    assert_eq!(ell.items[0].a.words(), vec!["child", "write", "word", "father"]);
    let err = Dataset::Elldis.load("h\nx\tchild write word\tb\t1\n").unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("is not `S V O and S2 does too`"), "{err}");
}

#[test]
fn the_vector_loader_names_ragged_and_bad_rows() {
    let v = Vectors::parse("a 1 2 3\n\nb 4 5 6\n", "t").unwrap();
    assert_eq!((v.dim, v.len(), v.get("b")), (3, 2, Some(&[4.0, 5.0, 6.0][..])));
    assert!(v.get("c").is_none());
    let e = Vectors::parse("a 1 2 3\nb 4 5\n", "t").unwrap_err().to_string();
    assert!(e.contains("t line 2") && e.contains("`b` has 2 numbers, the first row had 3"), "{e}");
    let e = Vectors::parse("a 1 x\n", "t").unwrap_err().to_string();
    assert!(e.contains("`x` in the vector of `a` is not a number"), "{e}");
    let e = Vectors::parse("a 1\na 2\n", "t").unwrap_err().to_string();
    assert!(e.contains("appears twice"), "{e}");
}

#[test]
fn relational_verbs_sum_outer_products_of_their_triples() {
    let v = Vectors::parse("john 4 60 59\nmary 0 10 22\nbob 1 0 2\n", "t").unwrap();
    let r = Relational::build("# comment\nloves john mary 2\nloves bob john\nloves zed mary\nsleeps john -\nsleeps bob - 3\n", "t", &v).unwrap();
    let (j, m, b) = (v.get("john").unwrap(), v.get("mary").unwrap(), v.get("bob").unwrap());
    let want: Vec<f64> = (0..3).flat_map(|i| (0..3).map(move |k| 2.0 * j[i] * m[k] + b[i] * j[k])).collect();
    assert_eq!(r.matrices["loves"], want);
    assert_eq!(r.subjects["sleeps"], vec![7.0, 60.0, 65.0]);
    assert_eq!((r.report.lines, r.report.used, r.report.dropped_oov, r.report.verbs), (5, 4, 1, 2));
    let e = Relational::build("loves john\n", "t", &v).unwrap_err().to_string();
    assert!(e.contains("t line 1: 2 fields"), "{e}");
}

#[test]
fn copy_subject_is_refused_as_ambiguous_and_aliases_carry_the_author() {
    assert!(Model::parse("copy-subject").unwrap_err().to_string().contains("ambiguous"));
    assert_eq!(Model::parse("copy_subject_ks").unwrap(), Model::SHadamardVo);
    assert_eq!(Model::parse("copy_object_milajevs").unwrap(), Model::SHadamardVo);
    assert_eq!(Model::parse("copy_subject_milajevs").unwrap(), Model::OHadamardVTs);
    for (m, n) in Model::ALL.iter().zip(Model::NAMES) {
        assert_eq!(Model::parse(n).unwrap(), *m);
    }
}

#[test]
fn an_adverb_acts_on_the_sentence_wire_of_any_first_order_verb() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let d = 3;
    let (s, o) = (random(&mut rng, &[d]), random(&mut rng, &[d]));
    let rel: Vec<f64> = random(&mut rng, &[d * d]).into_raw_vec_and_offset().0;
    let q = random(&mut rng, &[d * d, d * d]);
    // "john loves quickly mary" with the relational verb (Frobenius lift, S = N ⊗ N)
    let loves = Diagram { words: vec![Word::new("loves", "n.r s n.l").unwrap()], ops: vec![] };
    let quickly_loves = higher_order::adverb("quickly", &loves).unwrap();
    assert_eq!(quickly_loves.codomain().unwrap(), Ty::parse("n.r s n.l").unwrap());
    let john = Diagram { words: vec![Word::new("john", "n").unwrap()], ops: vec![] };
    let mary = Diagram { words: vec![Word::new("mary", "n").unwrap()], ops: vec![] };
    let sentence = john.juxtapose(&quickly_loves).unwrap().juxtapose(&mary).unwrap().close(&Ty::parse("s").unwrap()).unwrap();
    let mut f = Functor::new(&[("n", d), ("s", d * d)]);
    f.set("john", s.clone()).set("mary", o.clone()).set("loves", models::frobenius_lift(&rel, d)).set("quickly", q.clone());
    let got = f.eval(&sentence).unwrap();
    let v = vec![0.0; d];
    let plain = models::sentence(Model::Relational, &Svo { s: s.as_slice().unwrap(), v: &v, rel: Some(&rel), o: o.as_slice().unwrap() }).unwrap();
    for k in 0..d * d {
        let want: f64 = (0..d * d).map(|m| q[[k, m]] * plain[m]).sum();
        assert!((got[[k]] - want).abs() < 1e-12);
    }
    assert!(higher_order::adverb("quickly", &john).unwrap_err().to_string().contains("needs a verb with a sentence wire"));
}

const ENTITIES: [&str; 4] = ["john", "mary", "rex", "fido"];

#[test]
fn quantifiers_and_negation_compute_montague_truth_values() {
    let f = higher_order::truth_functor(&ENTITIES, &[("dog", &["rex", "fido"]), ("barks", &["rex", "fido", "john"])], &[("loves", &[("rex", "mary"), ("john", "mary")])]);
    let dog = Diagram { words: vec![Word::new("dog", "n.r s").unwrap()], ops: vec![] };
    let barks = Diagram { words: vec![Word::new("barks", "n.r s").unwrap()], ops: vec![] };
    let loves_mary = higher_order::verb_phrase("loves", "mary").unwrap();
    let t = |d: &Diagram| truth(&f.eval(d).unwrap()).expect("a truth value");
    assert!(t(&higher_order::quantify("every", &dog, &barks, &ENTITIES).unwrap()));
    let every_loves = higher_order::quantify("every", &dog, &loves_mary, &ENTITIES).unwrap();
    assert!(!t(&every_loves));
    assert!(t(&higher_order::not(&every_loves).unwrap()));
    assert!(!t(&higher_order::not(&higher_order::not(&every_loves).unwrap()).unwrap()));
    assert!(t(&higher_order::quantify("some", &dog, &loves_mary, &ENTITIES).unwrap()));
    assert!(higher_order::not(&dog).unwrap_err().to_string().contains("negates a sentence"));
}

#[test]
fn quantifiers_agree_with_set_semantics_on_random_relations() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..40 {
        let pick = |rng: &mut ChaCha8Rng| -> Vec<&str> { ENTITIES.iter().copied().filter(|_| rng.random_bool(0.5)).collect() };
        let (noun, pred) = (pick(&mut rng), pick(&mut rng));
        let rel: Vec<(&str, &str)> = ENTITIES.iter().flat_map(|a| ENTITIES.iter().map(move |b| (*a, *b))).filter(|_| rng.random_bool(0.3)).collect();
        let f = higher_order::truth_functor(&ENTITIES, &[("noun", &noun), ("pred", &pred)], &[("likes", &rel)]);
        let noun_d = Diagram { words: vec![Word::new("noun", "n.r s").unwrap()], ops: vec![] };
        let pred_d = Diagram { words: vec![Word::new("pred", "n.r s").unwrap()], ops: vec![] };
        let t = |d: &Diagram| truth(&f.eval(d).unwrap()).expect("a truth value");
        assert_eq!(t(&higher_order::quantify("every", &noun_d, &pred_d, &ENTITIES).unwrap()), noun.iter().all(|e| pred.contains(e)));
        assert_eq!(t(&higher_order::quantify("some", &noun_d, &pred_d, &ENTITIES).unwrap()), noun.iter().any(|e| pred.contains(e)));
        // a quantifier over a first-order verb phrase: "every noun likes fido"
        let vp = higher_order::verb_phrase("likes", "fido").unwrap();
        assert_eq!(t(&higher_order::quantify("every", &noun_d, &vp, &ENTITIES).unwrap()), noun.iter().all(|e| rel.contains(&(*e, "fido"))));
    }
}

#[test]
fn the_shipped_data_are_the_documented_files() {
    use sha2::{Digest, Sha256};
    let sources = include_str!("../../data/discocat/SOURCES.md");
    for (bytes, name) in [
        (super::datasets::GS2011, "GS2011data.txt"),
        (super::datasets::GS2013, "GS2013data.txt"),
        (super::datasets::ML2008, "ML2008data.txt"),
        (super::datasets::KS2013, "KS2013data.txt"),
        (super::datasets::GS2012, "GS2012data.txt"),
        (super::experiment::GLOVE_SUBSET, "glove6B100d_subset.txt"),
        (include_bytes!("../../data/discocat/triples_example.txt"), "triples_example.txt"),
    ] {
        let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert!(sources.contains(&format!("{hex}  {name}")), "{name} hashes to {hex}, not what SOURCES.md says");
    }
}

fn batch_data(d: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<super::batch::Pair>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |n: usize| -> Vec<f64> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let (nouns, verbs, rels) = (draw(40 * d), draw(6 * d), draw(6 * d * d));
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
    let pairs = (0..203)
        .map(|_| super::batch::Pair { s: rng.random_range(0..40), o: rng.random_range(0..40), verb: rng.random_range(0..3), landmark: rng.random_range(3..6) })
        .collect();
    (nouns, verbs, rels, pairs)
}

#[test]
fn batched_similarities_equal_one_pair_at_a_time() {
    use super::batch::{self, Lexicon};
    for d in [1, 7, 33] {
        let (nouns, verbs, rels, pairs) = batch_data(d, d as u64);
        let lex = Lexicon { d, nouns: &nouns, verbs: &verbs, rels: &rels };
        let runs: [(Model, Vec<f64>); 4] = [
            (Model::Kronecker, batch::kronecker(&lex, &pairs)),
            (Model::SHadamardVo, batch::copy(&lex, &pairs, true)),
            (Model::OHadamardVTs, batch::copy(&lex, &pairs, false)),
            (Model::Relational, batch::relational(&lex, &pairs)),
        ];
        for (m, got) in runs {
            let want = batch::one_by_one(&lex, &pairs, m);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "{} d={d}: {g} vs {w}", m.name());
            }
        }
    }
}

#[test]
fn the_batched_kernel_gives_the_same_bits_with_or_without_avx2_and_on_any_thread_count() {
    use super::batch::{self, Lexicon};
    let d = 37;
    let (nouns, verbs, rels, pairs) = batch_data(d, 5);
    let xs: Vec<&[f64]> = nouns.chunks_exact(d).collect();
    assert_eq!(batch::matvecs(&rels[..d * d], &xs), batch::matvecs_portable(&rels[..d * d], &xs));
    let lex = Lexicon { d, nouns: &nouns, verbs: &verbs, rels: &rels };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let serial = one.install(|| batch::relational(&lex, &pairs));
    assert_eq!(serial, batch::relational(&lex, &pairs));
    for (i, row) in xs.iter().enumerate().take(5) {
        let single = batch::matvecs(&rels[..d * d], &[row]);
        assert_eq!(single, batch::matvecs(&rels[..d * d], &xs)[i * d..(i + 1) * d], "blocking must not change the sums");
    }
}

fn run(exp: &dyn reprise_core::Experiment, args: &[&str], inputs: &[(&str, &[u8])]) -> Result<reprise_core::Outputs, reprise_core::ExperimentError> {
    use reprise_core::{NoProgress, Params, RunCtx, Seed};
    let inputs = inputs.iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect();
    exp.run(&RunCtx { params: Params::from_args(&exp.params(), args).unwrap(), seed: Seed(0), inputs, progress: &NoProgress })
}

fn json_of(out: &reprise_core::Outputs, name: &str) -> serde_json::Value {
    serde_json::from_slice(&out.0[name].bytes).unwrap()
}

#[test]
fn compose_draws_the_toy_sentence_and_the_lifted_verb_matches_the_relational_model() {
    let out = run(&super::compose::Compose, &[], &[]).unwrap();
    let s = json_of(&out, "summary.json");
    assert_eq!(s["functor_check"]["identical"], true);
    assert_eq!(s["models"], 10);
    let svg = String::from_utf8(out.0["diagram.svg"].bytes.clone()).unwrap();
    assert_eq!((svg.matches("<rect").count(), svg.matches("<path").count(), svg.matches("<line").count()), (3, 2, 1), "{svg}");
    let csv = String::from_utf8(out.0["sentences.csv"].bytes.clone()).unwrap();
    assert!(csv.contains("s_hadamard_Vo,s ⊙ (V o),3,113504 11995680 3416808"), "{csv}");
    let err = run(&super::compose::Compose, &["sentence=dogs chase", "types=n | n.r s n.l"], &[]).unwrap_err().to_string();
    assert!(err.contains("wire 3 `n.l` of word 2 `chase`"), "{err}");
    let err = run(&super::compose::Compose, &["sentence=john hates mary"], &[]).unwrap_err().to_string();
    assert!(err.contains("`hates` has no vector in the toy lexicon"), "{err}");
}

#[test]
fn gs2011_reports_every_model_and_protocol_and_names_what_it_skipped() {
    use super::experiment::Gs2011;
    let out = run(&Gs2011, &[], &[]).unwrap();
    let s = json_of(&out, "summary.json");
    assert_eq!(s["data"]["judgments"], 2500);
    let rows = s["models"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["model"].as_str().unwrap()).collect::<Vec<_>>(), ["verb", "add", "mult", "kronecker"]);
    assert!(rows.iter().all(|r| r["rho_per_judgment"].is_f64() && r["rho_item_mean"].is_f64() && r["mean_cos_high"].is_f64()));
    assert_eq!(s["skipped"].as_array().unwrap().len(), 6);
    // with triples every model runs; verbs without triples drop their items from those models only
    let triples = include_bytes!("../../data/discocat/triples_example.txt");
    let out = run(&Gs2011, &[], &[("triples", triples)]).unwrap();
    let s = json_of(&out, "summary.json");
    let rows = s["models"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(s["triples"]["dropped_oov"], 7);
    assert!(rows[4]["items_without_triples"].as_u64().unwrap() > 0 && rows[0]["items_without_triples"] == 0);
    // intransitive data, the OOV report, the ambiguous alias, a missing ellipsis file
    let out = run(&Gs2011, &["dataset=ml2008"], &[]).unwrap();
    let s = json_of(&out, "summary.json");
    assert_eq!((s["oov"]["missing_words"].clone(), s["oov"]["items_dropped"].clone()), (serde_json::json!(["gabble"]), serde_json::json!(4)));
    let err = run(&Gs2011, &["dataset=ml2008", "oov=error"], &[]).unwrap_err().to_string();
    assert!(err.contains("gabble"), "{err}");
    let err = run(&Gs2011, &["models=copy_subject,add"], &[]).unwrap_err().to_string();
    assert!(err.contains("ambiguous"), "{err}");
    let err = run(&Gs2011, &["dataset=elldis"], &[]).unwrap_err().to_string();
    assert!(err.contains("--input data="), "{err}");
    let err = run(&Gs2011, &["models=relational"], &[]).unwrap_err().to_string();
    assert!(err.contains("pass -i triples=FILE"), "{err}");
}

#[test]
fn vectors_fall_back_to_the_lowercase_word() {
    let v = Vectors::parse("japanese 1 2\n", "t").unwrap();
    assert_eq!(v.get("Japanese"), Some(&[1.0, 2.0][..]));
}

#[test]
fn the_gpu_crates_cpu_twin_gives_the_batch_matvecs_bits() {
    // reprise-gpu's grouped matvecs (whose CUDA kernel is checked bitwise against this twin on a
    // GPU machine) must give exactly what the batch path computes here, tail included (d = 7).
    use super::batch;
    use reprise_gpu::Backend;
    for d in [7, 12] {
        let (nouns, _, rels, _) = batch_data(d, 5);
        let xs: Vec<&[f64]> = (0..9).map(|k| &nouns[k * d..(k + 1) * d]).collect();
        let want = batch::matvecs(&rels[..d * d], &xs);
        let got = reprise_gpu::Cpu.grouped_matvecs(&rels[..d * d], d, &[0; 9], &nouns[..9 * d]).unwrap();
        assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "d={d}");
    }
}
