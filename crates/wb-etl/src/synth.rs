//! A deterministic generator of a hospital-readmission-like CSV.
//!
//! [`write_readmission_csv`] writes rows shaped like the UCI "Diabetes 130-US hospitals
//! for years 1999–2008" data (`diabetic_data.csv`): the same 50 columns
//! ([`readmission_columns`]), `?` for missing values, age bands such as `[70-80)`, integer code
//! columns such as `admission_type_id` (described by [`admission_type_mapping_csv`]),
//! ICD-9-like diagnosis codes (`250.83`, `428`, `V45`, `E909`), 23 medication columns holding
//! `No`/`Steady`/`Up`/`Down`, and marginal distributions close to the real data's.
//!
//! The target `readmitted` is binary (`1` for about 11 % of the rows) and depends on the
//! features through a logistic model (prior inpatient and emergency visits, age band, length of
//! stay, number of medications, diabetes medication, discharge disposition) plus noise, so a
//! model can learn something from it. Patients discharged as expired are never readmitted.
//! Nothing here is real patient data.
//!
//! The output is a pure function of `(rows, seed)`: the same arguments give the same bytes.
//! Rows are assembled in a reused buffer without per-field allocation, fast enough to feed
//! benchmarks at millions of rows.
//!
//! # Example
//!
//! ```
//! let mut csv = Vec::new();
//! let report = wb_etl::synth::write_readmission_csv(&mut csv, 100, 42)?;
//! assert_eq!(report.rows, 100);
//! assert_eq!(report.columns.len(), wb_etl::synth::readmission_columns().len());
//! assert!(csv.starts_with(b"encounter_id,patient_nbr,race,"));
//! # Ok::<(), wb_etl::Error>(())
//! ```

use std::io::{BufWriter, Write};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// The 23 medication columns, in file order.
const MEDICATIONS: [&str; 23] = [
    "metformin",
    "repaglinide",
    "nateglinide",
    "chlorpropamide",
    "glimepiride",
    "acetohexamide",
    "glipizide",
    "glyburide",
    "tolbutamide",
    "pioglitazone",
    "rosiglitazone",
    "acarbose",
    "miglitol",
    "troglitazone",
    "tolazamide",
    "examide",
    "citoglipton",
    "insulin",
    "glyburide-metformin",
    "glipizide-metformin",
    "glimepiride-pioglitazone",
    "metformin-rosiglitazone",
    "metformin-pioglitazone",
];

/// Every column, in file order.
const COLUMNS: [&str; 50] = [
    "encounter_id",
    "patient_nbr",
    "race",
    "gender",
    "age",
    "weight",
    "admission_type_id",
    "discharge_disposition_id",
    "admission_source_id",
    "time_in_hospital",
    "payer_code",
    "medical_specialty",
    "num_lab_procedures",
    "num_procedures",
    "num_medications",
    "number_outpatient",
    "number_emergency",
    "number_inpatient",
    "diag_1",
    "diag_2",
    "diag_3",
    "number_diagnoses",
    "max_glu_serum",
    "A1Cresult",
    MEDICATIONS[0],
    MEDICATIONS[1],
    MEDICATIONS[2],
    MEDICATIONS[3],
    MEDICATIONS[4],
    MEDICATIONS[5],
    MEDICATIONS[6],
    MEDICATIONS[7],
    MEDICATIONS[8],
    MEDICATIONS[9],
    MEDICATIONS[10],
    MEDICATIONS[11],
    MEDICATIONS[12],
    MEDICATIONS[13],
    MEDICATIONS[14],
    MEDICATIONS[15],
    MEDICATIONS[16],
    MEDICATIONS[17],
    MEDICATIONS[18],
    MEDICATIONS[19],
    MEDICATIONS[20],
    MEDICATIONS[21],
    MEDICATIONS[22],
    "change",
    "diabetesMed",
    "readmitted",
];

const ADMISSION_TYPE_MAPPING: &str = "admission_type_id,description
1,Emergency
2,Urgent
3,Elective
4,Newborn
5,Not Available
6,NULL
7,Trauma Center
8,Not Mapped
";

/// What [`write_readmission_csv`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthReport {
    /// Data rows written (the header not counted).
    pub rows: u64,
    /// Rows with `readmitted = 1`.
    pub positives: u64,
    /// The header, in file order (the same as [`readmission_columns`]).
    pub columns: Vec<String>,
}

/// The 50 column names of the generated CSV, in file order.
#[must_use]
pub fn readmission_columns() -> Vec<&'static str> {
    COLUMNS.to_vec()
}

/// The lookup table of the `admission_type_id` codes as CSV with the header
/// `admission_type_id,description` (1 Emergency … 8 Not Mapped), as shipped with the UCI data.
///
/// Every code the generator writes is listed. Note that code 6 is described by the literal
/// text `NULL`.
#[must_use]
pub fn admission_type_mapping_csv() -> &'static str {
    ADMISSION_TYPE_MAPPING
}

/// Writes a header and `rows` synthetic encounters to `out` (buffered internally), using the
/// random generator `ChaCha8Rng` seeded with `seed`.
///
/// The same `(rows, seed)` always produce the same bytes; a different seed produces different
/// data. No field needs CSV quoting. The output is flushed before returning.
///
/// # Errors
/// [`Error::Io`] when writing to `out` fails (the path is the placeholder `<output>`, since a
/// writer has no name).
pub fn write_readmission_csv<W: Write>(out: W, rows: u64, seed: u64) -> Result<SynthReport> {
    let write_error = |e| Error::io("writing synthetic CSV to", "<output>", e);
    let mut out = BufWriter::with_capacity(1 << 16, out);
    out.write_all(COLUMNS.join(",").as_bytes()).map_err(write_error)?;
    out.write_all(b"\n").map_err(write_error)?;

    let mut generator = Generator::new(seed);
    let mut line = Vec::with_capacity(512);
    let mut positives = 0;
    for _ in 0..rows {
        line.clear();
        if generator.row(&mut line) {
            positives += 1;
        }
        out.write_all(&line).map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    tracing::debug!(rows, positives, seed, "wrote synthetic readmission CSV");
    Ok(SynthReport { rows, positives, columns: COLUMNS.iter().map(|&c| c.to_owned()).collect() })
}

// ---- sampling -----------------------------------------------------------------------------

/// A discrete distribution over `items` with integer weights.
struct Weighted<T: 'static> {
    items: &'static [(T, u32)],
    /// Running sums of the weights.
    cumulative: Vec<u32>,
}

impl<T: Copy> Weighted<T> {
    fn new(items: &'static [(T, u32)]) -> Self {
        let cumulative = items
            .iter()
            .scan(0_u32, |sum, &(_, weight)| {
                *sum += weight;
                Some(*sum)
            })
            .collect();
        Self { items, cumulative }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> T {
        let total = *self.cumulative.last().unwrap_or(&0);
        // Multiply-shift maps a uniform u32 onto [0, total); the bias is below 2^-16 here.
        let r = ((u64::from(rng.next_u32()) * u64::from(total)) >> 32) as u32;
        let index = self.cumulative.partition_point(|&c| c <= r);
        self.items[index.min(self.items.len() - 1)].0
    }
}

/// A uniform draw from [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1_u64 << 53) as f64)
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `true` with probability `p` (given in parts per 2^32).
fn chance(rng: &mut ChaCha8Rng, per_2_32: u32) -> bool {
    rng.next_u32() < per_2_32
}

/// A probability as parts per 2^32.
const fn per_2_32(p: f64) -> u32 {
    (p * 4_294_967_296.0) as u32
}

fn clamp_round(x: f64, lo: u64, hi: u64) -> u64 {
    (x.round().max(lo as f64) as u64).min(hi)
}

// ---- distributions, close to the marginals of the UCI data ------------------------------

const RACE: &[(&str, u32)] =
    &[("Caucasian", 7478), ("AfricanAmerican", 1888), ("?", 223), ("Hispanic", 200), ("Other", 148), ("Asian", 63)];

const GENDER: &[(&str, u32)] = &[("Female", 53_758), ("Male", 46_239), ("Unknown/Invalid", 3)];

const AGE_BANDS: [&str; 10] =
    ["[0-10)", "[10-20)", "[20-30)", "[30-40)", "[40-50)", "[50-60)", "[60-70)", "[70-80)", "[80-90)", "[90-100)"];

const AGE: &[(usize, u32)] =
    &[(0, 16), (1, 68), (2, 163), (3, 371), (4, 952), (5, 1696), (6, 2209), (7, 2562), (8, 1690), (9, 274)];

/// Added to the readmission logit per age band.
const AGE_EFFECT: [f64; 10] = [-0.6, -0.4, -0.2, -0.15, -0.1, 0.0, 0.1, 0.2, 0.3, 0.2];

const WEIGHT: &[(&str, u32)] = &[
    ("?", 9686),
    ("[75-100)", 131),
    ("[50-75)", 88),
    ("[100-125)", 61),
    ("[125-150)", 14),
    ("[25-50)", 9),
    ("[0-25)", 5),
    ("[150-175)", 3),
    ("[175-200)", 2),
    (">200", 1),
];

const ADMISSION_TYPE: &[(u64, u32)] = &[(1, 5305), (2, 1818), (3, 1854), (4, 2), (5, 470), (6, 520), (7, 3), (8, 32)];

/// Discharge disposition codes with weights and their effect on the readmission logit.
const DISCHARGE: &[((u64, f64), u32)] = &[
    ((1, 0.0), 5913),
    ((3, 0.35), 1370),
    ((6, 0.15), 1270),
    ((18, 0.0), 363),
    ((2, 0.25), 209),
    ((22, 0.45), 199),
    ((11, 0.0), 164),
    ((5, 0.4), 118),
    ((25, 0.0), 99),
    ((4, 0.2), 81),
    ((7, -0.2), 61),
    ((23, 0.3), 41),
    ((13, -0.5), 40),
    ((14, -0.5), 37),
    ((28, 0.4), 14),
    ((8, 0.1), 11),
    ((15, 0.3), 6),
    ((24, 0.1), 5),
    ((9, 0.3), 2),
    ((17, 0.0), 1),
    ((10, 0.0), 1),
    ((16, 0.0), 1),
    ((19, 0.0), 1),
    ((20, 0.0), 1),
    ((27, 0.0), 1),
    ((12, 0.0), 1),
];

/// Discharge dispositions meaning the patient died (never readmitted).
const EXPIRED: [u64; 4] = [11, 19, 20, 21];

const ADMISSION_SOURCE: &[(u64, u32)] = &[
    (7, 5649),
    (1, 2903),
    (17, 678),
    (4, 313),
    (6, 221),
    (2, 110),
    (5, 85),
    (3, 19),
    (20, 16),
    (9, 13),
    (8, 2),
    (22, 1),
    (10, 1),
];

const TIME_IN_HOSPITAL: &[(u64, u32)] = &[
    (1, 1400),
    (2, 1692),
    (3, 1746),
    (4, 1370),
    (5, 980),
    (6, 740),
    (7, 576),
    (8, 431),
    (9, 295),
    (10, 230),
    (11, 184),
    (12, 141),
    (13, 119),
    (14, 100),
];

const PAYER_CODE: &[(&str, u32)] = &[
    ("?", 3956),
    ("MC", 3190),
    ("HM", 617),
    ("SP", 492),
    ("BC", 457),
    ("MD", 347),
    ("CP", 249),
    ("UN", 240),
    ("CM", 190),
    ("OG", 102),
    ("PO", 58),
    ("DM", 54),
    ("CH", 14),
    ("WC", 13),
    ("OT", 9),
    ("MP", 8),
    ("SI", 5),
    ("FR", 1),
];

const MEDICAL_SPECIALTY: &[(&str, u32)] = &[
    ("?", 4908),
    ("InternalMedicine", 1440),
    ("Emergency/Trauma", 744),
    ("Family/GeneralPractice", 731),
    ("Cardiology", 526),
    ("Surgery-General", 310),
    ("Nephrology", 161),
    ("Orthopedics", 140),
    ("Orthopedics-Reconstructive", 123),
    ("Radiologist", 113),
    ("Pulmonology", 87),
    ("Psychiatry", 85),
    ("Urology", 68),
    ("ObstetricsandGynecology", 67),
    ("Surgery-Cardiovascular/Thoracic", 64),
    ("Gastroenterology", 56),
    ("Surgery-Vascular", 52),
    ("Surgery-Neuro", 46),
    ("PhysicalMedicineandRehabilitation", 38),
    ("Oncology", 34),
    ("Pediatrics", 25),
    ("Hematology/Oncology", 20),
    ("Neurology", 20),
    ("Pediatrics-Endocrinology", 16),
    ("Otolaryngology", 12),
    ("Endocrinology", 12),
];

const NUM_PROCEDURES: &[(u64, u32)] = &[(0, 4584), (1, 2076), (2, 1252), (3, 928), (4, 410), (5, 304), (6, 488)];

const NUMBER_OUTPATIENT: &[(u64, u32)] = &[
    (0, 83_560),
    (1, 8_400),
    (2, 3_550),
    (3, 2_040),
    (4, 1_090),
    (5, 520),
    (6, 300),
    (7, 150),
    (8, 100),
    (9, 80),
    (10, 57),
    (11, 42),
    (12, 30),
    (13, 30),
    (14, 28),
    (15, 20),
    (20, 10),
    (25, 5),
    (36, 2),
];

const NUMBER_EMERGENCY: &[(u64, u32)] = &[
    (0, 88_810),
    (1, 7_540),
    (2, 2_030),
    (3, 720),
    (4, 370),
    (5, 190),
    (6, 93),
    (7, 72),
    (8, 50),
    (9, 33),
    (10, 34),
    (11, 23),
    (13, 12),
    (16, 5),
    (20, 3),
    (25, 2),
    (42, 1),
];

const NUMBER_INPATIENT: &[(u64, u32)] = &[
    (0, 66_450),
    (1, 19_290),
    (2, 7_430),
    (3, 3_410),
    (4, 1_620),
    (5, 800),
    (6, 470),
    (7, 270),
    (8, 150),
    (9, 110),
    (10, 60),
    (11, 48),
    (12, 34),
    (13, 20),
    (14, 10),
    (15, 9),
    (16, 6),
    (19, 2),
    (21, 1),
];

const NUMBER_DIAGNOSES: &[(u64, u32)] = &[
    (1, 22),
    (2, 102),
    (3, 283),
    (4, 554),
    (5, 1139),
    (6, 1016),
    (7, 1039),
    (8, 1062),
    (9, 4947),
    (10, 2),
    (11, 1),
    (12, 1),
    (13, 2),
    (14, 1),
    (15, 1),
    (16, 5),
];

const MAX_GLU_SERUM: &[(&str, u32)] = &[("None", 9474), ("Norm", 255), (">200", 146), (">300", 125)];

const A1C_RESULT: &[(&str, u32)] = &[("None", 8328), (">8", 807), ("Norm", 490), (">7", 375)];

/// Medication values: the index of `DOSE`.
const DOSE: [&str; 4] = ["No", "Steady", "Up", "Down"];

/// Per medication (in `MEDICATIONS` order), weights of No/Steady/Up/Down per 100,000 rows.
const MEDICATION_DOSES: [[u32; 4]; 23] = [
    [80_358, 18_028, 1_067, 575],     // metformin
    [98_488, 1_346, 108, 45],         // repaglinide
    [99_309, 668, 24, 11],            // nateglinide
    [99_915, 78, 6, 1],               // chlorpropamide
    [94_899, 4_588, 323, 190],        // glimepiride
    [99_999, 1, 0, 0],                // acetohexamide
    [87_534, 11_159, 759, 548],       // glipizide
    [89_534, 9_113, 797, 556],        // glyburide
    [99_978, 22, 0, 0],               // tolbutamide
    [92_799, 6_857, 230, 114],        // pioglitazone
    [93_747, 5_991, 175, 87],         // rosiglitazone
    [99_697, 290, 10, 3],             // acarbose
    [99_963, 31, 2, 4],               // miglitol
    [99_997, 3, 0, 0],                // troglitazone
    [99_962, 37, 1, 0],               // tolazamide
    [100_000, 0, 0, 0],               // examide
    [100_000, 0, 0, 0],               // citoglipton
    [46_560, 30_313, 11_126, 12_001], // insulin
    [99_307, 680, 8, 5],              // glyburide-metformin
    [99_987, 13, 0, 0],               // glipizide-metformin
    [99_999, 1, 0, 0],                // glimepiride-pioglitazone
    [99_998, 2, 0, 0],                // metformin-rosiglitazone
    [99_999, 1, 0, 0],                // metformin-pioglitazone
];

/// Frequent ICD-9 codes outside the diabetes block.
const COMMON_DIAGNOSES: &[(&str, u32)] = &[
    ("428", 680),
    ("414", 650),
    ("786", 400),
    ("410", 350),
    ("486", 350),
    ("427", 330),
    ("276", 320),
    ("491", 230),
    ("715", 220),
    ("682", 200),
    ("434", 200),
    ("780", 200),
    ("996", 200),
    ("401", 360),
    ("599", 190),
    ("584", 180),
    ("403", 170),
    ("38", 150),
    ("493", 110),
    ("8", 60),
    ("425", 120),
    ("707", 130),
    ("440", 80),
    ("424", 100),
    ("433", 60),
    ("411", 80),
    ("435", 60),
    ("574", 60),
    ("518", 180),
    ("585", 100),
    ("272", 150),
    ("285", 120),
    ("496", 150),
    ("244", 100),
    ("V45", 60),
    ("V58", 60),
    ("V57", 40),
];

/// Codes of the diabetes block (250.xx).
const DIABETES_DIAGNOSES: &[(&str, u32)] = &[
    ("250", 600),
    ("250.02", 500),
    ("250.01", 400),
    ("250.6", 350),
    ("250.8", 300),
    ("250.83", 150),
    ("250.13", 150),
    ("250.11", 120),
    ("250.03", 60),
    ("250.1", 60),
    ("250.12", 80),
    ("250.4", 150),
    ("250.41", 40),
    ("250.42", 30),
    ("250.7", 120),
    ("250.81", 40),
    ("250.82", 80),
    ("250.9", 60),
    ("250.92", 50),
    ("250.5", 40),
    ("250.22", 30),
    ("250.2", 30),
];

/// How a diagnosis code is produced.
#[derive(Clone, Copy)]
enum DiagnosisSource {
    Missing,
    Common,
    Diabetes,
    /// Any numeric code 1–999, sometimes with decimals.
    Numeric,
    /// A supplementary `V` code.
    V,
    /// An external-cause `E` code.
    E,
}

const DIAGNOSIS_SOURCES: [&[(DiagnosisSource, u32)]; 3] = [
    // diag_1
    &[
        (DiagnosisSource::Missing, 10),
        (DiagnosisSource::Common, 5700),
        (DiagnosisSource::Diabetes, 900),
        (DiagnosisSource::Numeric, 3230),
        (DiagnosisSource::V, 150),
        (DiagnosisSource::E, 10),
    ],
    // diag_2
    &[
        (DiagnosisSource::Missing, 40),
        (DiagnosisSource::Common, 5300),
        (DiagnosisSource::Diabetes, 1300),
        (DiagnosisSource::Numeric, 2960),
        (DiagnosisSource::V, 350),
        (DiagnosisSource::E, 50),
    ],
    // diag_3
    &[
        (DiagnosisSource::Missing, 140),
        (DiagnosisSource::Common, 5000),
        (DiagnosisSource::Diabetes, 1500),
        (DiagnosisSource::Numeric, 2690),
        (DiagnosisSource::V, 520),
        (DiagnosisSource::E, 150),
    ],
];

/// The readmission logit's intercept, calibrated for about 11 % positives.
const INTERCEPT: f64 = -3.43;

/// How many recent patient numbers can recur in later encounters.
const RECENT_PATIENTS: usize = 4096;

// ---- the generator ------------------------------------------------------------------------

/// Everything needed to draw rows: the distributions and the random state.
struct Generator {
    rng: ChaCha8Rng,
    encounter_id: u64,
    recent_patients: Vec<u64>,
    race: Weighted<&'static str>,
    gender: Weighted<&'static str>,
    age: Weighted<usize>,
    weight: Weighted<&'static str>,
    admission_type: Weighted<u64>,
    discharge: Weighted<(u64, f64)>,
    admission_source: Weighted<u64>,
    time_in_hospital: Weighted<u64>,
    payer_code: Weighted<&'static str>,
    medical_specialty: Weighted<&'static str>,
    num_procedures: Weighted<u64>,
    number_outpatient: Weighted<u64>,
    number_emergency: Weighted<u64>,
    number_inpatient: Weighted<u64>,
    number_diagnoses: Weighted<u64>,
    max_glu_serum: Weighted<&'static str>,
    a1c_result: Weighted<&'static str>,
    diagnosis_sources: [Weighted<DiagnosisSource>; 3],
    common_diagnoses: Weighted<&'static str>,
    diabetes_diagnoses: Weighted<&'static str>,
    /// Per medication, cumulative thresholds (parts per 2^32) of No, Steady and Up.
    medication_thresholds: [[u64; 3]; 23],
}

impl Generator {
    fn new(seed: u64) -> Self {
        let medication_thresholds = MEDICATION_DOSES.map(|weights| {
            let total: u32 = weights.iter().sum();
            let mut sum = 0;
            [0, 1, 2].map(|i| {
                sum += weights[i];
                (u64::from(sum) << 32) / u64::from(total)
            })
        });
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            encounter_id: 2_278_392,
            recent_patients: Vec::with_capacity(RECENT_PATIENTS),
            race: Weighted::new(RACE),
            gender: Weighted::new(GENDER),
            age: Weighted::new(AGE),
            weight: Weighted::new(WEIGHT),
            admission_type: Weighted::new(ADMISSION_TYPE),
            discharge: Weighted::new(DISCHARGE),
            admission_source: Weighted::new(ADMISSION_SOURCE),
            time_in_hospital: Weighted::new(TIME_IN_HOSPITAL),
            payer_code: Weighted::new(PAYER_CODE),
            medical_specialty: Weighted::new(MEDICAL_SPECIALTY),
            num_procedures: Weighted::new(NUM_PROCEDURES),
            number_outpatient: Weighted::new(NUMBER_OUTPATIENT),
            number_emergency: Weighted::new(NUMBER_EMERGENCY),
            number_inpatient: Weighted::new(NUMBER_INPATIENT),
            number_diagnoses: Weighted::new(NUMBER_DIAGNOSES),
            max_glu_serum: Weighted::new(MAX_GLU_SERUM),
            a1c_result: Weighted::new(A1C_RESULT),
            diagnosis_sources: DIAGNOSIS_SOURCES.map(Weighted::new),
            common_diagnoses: Weighted::new(COMMON_DIAGNOSES),
            diabetes_diagnoses: Weighted::new(DIABETES_DIAGNOSES),
            medication_thresholds,
        }
    }

    /// A patient number: a recent patient again (about 30 % of the time) or a new one.
    fn patient_nbr(&mut self) -> u64 {
        if !self.recent_patients.is_empty() && chance(&mut self.rng, per_2_32(0.3)) {
            let index = self.rng.gen_range(0..self.recent_patients.len());
            return self.recent_patients[index];
        }
        let patient = self.rng.gen_range(135..190_000_000);
        if self.recent_patients.len() < RECENT_PATIENTS {
            self.recent_patients.push(patient);
        } else {
            let index = self.rng.gen_range(0..RECENT_PATIENTS);
            self.recent_patients[index] = patient;
        }
        patient
    }

    /// Appends one ICD-9-like code for diagnosis slot `slot` (0, 1 or 2).
    fn diagnosis(&mut self, line: &mut Vec<u8>, slot: usize) {
        match self.diagnosis_sources[slot].sample(&mut self.rng) {
            DiagnosisSource::Missing => line.push(b'?'),
            DiagnosisSource::Common => push_str(line, self.common_diagnoses.sample(&mut self.rng)),
            DiagnosisSource::Diabetes => push_str(line, self.diabetes_diagnoses.sample(&mut self.rng)),
            DiagnosisSource::Numeric => {
                push_u64(line, self.rng.gen_range(1..1000));
                if chance(&mut self.rng, per_2_32(0.3)) {
                    line.push(b'.');
                    line.push(b'0' + self.rng.gen_range(0..10_u8));
                    if chance(&mut self.rng, per_2_32(0.3)) {
                        line.push(b'0' + self.rng.gen_range(1..10_u8));
                    }
                }
            }
            DiagnosisSource::V => {
                let code = self.rng.gen_range(1..87_u8);
                line.extend_from_slice(&[b'V', b'0' + code / 10, b'0' + code % 10]);
                if chance(&mut self.rng, per_2_32(0.1)) {
                    line.extend_from_slice(&[b'.', b'0' + self.rng.gen_range(1..10_u8)]);
                }
            }
            DiagnosisSource::E => {
                line.push(b'E');
                push_u64(line, self.rng.gen_range(800..1000));
            }
        }
        line.push(b',');
    }

    /// Appends one row (with its newline); returns whether it is a positive.
    fn row(&mut self, line: &mut Vec<u8>) -> bool {
        self.encounter_id += self.rng.gen_range(1..4000);
        push_field_u64(line, self.encounter_id);
        let patient = self.patient_nbr();
        push_field_u64(line, patient);
        push_field(line, self.race.sample(&mut self.rng));
        push_field(line, self.gender.sample(&mut self.rng));
        let age = self.age.sample(&mut self.rng);
        push_field(line, AGE_BANDS[age]);
        push_field(line, self.weight.sample(&mut self.rng));
        push_field_u64(line, self.admission_type.sample(&mut self.rng));
        let (discharge, discharge_effect) = self.discharge.sample(&mut self.rng);
        push_field_u64(line, discharge);
        push_field_u64(line, self.admission_source.sample(&mut self.rng));
        let time_in_hospital = self.time_in_hospital.sample(&mut self.rng);
        push_field_u64(line, time_in_hospital);
        push_field(line, self.payer_code.sample(&mut self.rng));
        push_field(line, self.medical_specialty.sample(&mut self.rng));

        let num_lab_procedures = if chance(&mut self.rng, per_2_32(0.03)) {
            1
        } else {
            clamp_round(44.0 + 18.0 * normal(&mut self.rng), 1, 132)
        };
        push_field_u64(line, num_lab_procedures);
        let num_procedures = self.num_procedures.sample(&mut self.rng);
        push_field_u64(line, num_procedures);
        let mean_medications = 8.5 + 1.4 * time_in_hospital as f64 + 1.5 * num_procedures as f64;
        let num_medications = clamp_round(mean_medications + 6.5 * normal(&mut self.rng), 1, 81);
        push_field_u64(line, num_medications);
        let outpatient = self.number_outpatient.sample(&mut self.rng);
        push_field_u64(line, outpatient);
        let emergency = self.number_emergency.sample(&mut self.rng);
        push_field_u64(line, emergency);
        let inpatient = self.number_inpatient.sample(&mut self.rng);
        push_field_u64(line, inpatient);

        for slot in 0..3 {
            self.diagnosis(line, slot);
        }
        let number_diagnoses = self.number_diagnoses.sample(&mut self.rng);
        push_field_u64(line, number_diagnoses);
        push_field(line, self.max_glu_serum.sample(&mut self.rng));
        push_field(line, self.a1c_result.sample(&mut self.rng));

        let mut any_medication = false;
        let mut any_dose_change = false;
        for thresholds in &self.medication_thresholds {
            let r = u64::from(self.rng.next_u32());
            let dose = thresholds.iter().position(|&t| r < t).unwrap_or(3);
            any_medication |= dose != 0;
            any_dose_change |= dose >= 2;
            push_field(line, DOSE[dose]);
        }
        // A switch between drugs also counts as a change.
        let change = any_dose_change || (any_medication && chance(&mut self.rng, per_2_32(0.3)));
        push_field(line, if change { "Ch" } else { "No" });
        push_field(line, if any_medication { "Yes" } else { "No" });

        let logit = INTERCEPT
            + 0.45 * inpatient.min(10) as f64
            + 0.2 * emergency.min(10) as f64
            + 0.06 * outpatient.min(10) as f64
            + AGE_EFFECT[age]
            + 0.04 * time_in_hospital as f64
            + 0.01 * num_medications as f64
            + if any_medication { 0.2 } else { 0.0 }
            + if number_diagnoses >= 9 { 0.15 } else { 0.0 }
            + discharge_effect
            + 0.5 * normal(&mut self.rng);
        let probability = 1.0 / (1.0 + (-logit).exp());
        let readmitted = !EXPIRED.contains(&discharge) && unit(&mut self.rng) < probability;
        line.extend_from_slice(if readmitted { b"1\n" } else { b"0\n" });
        readmitted
    }
}

fn push_str(line: &mut Vec<u8>, value: &str) {
    line.extend_from_slice(value.as_bytes());
}

fn push_field(line: &mut Vec<u8>, value: &str) {
    line.extend_from_slice(value.as_bytes());
    line.push(b',');
}

fn push_field_u64(line: &mut Vec<u8>, value: u64) {
    push_u64(line, value);
    line.push(b',');
}

/// Appends the decimal digits of `value` without allocating.
fn push_u64(line: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0_u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn generate(rows: u64, seed: u64) -> (Vec<u8>, SynthReport) {
        let mut out = Vec::new();
        let report = write_readmission_csv(&mut out, rows, seed).expect("generate");
        (out, report)
    }

    /// Parses generated CSV into its header and records.
    fn parse(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
        let header = reader.headers().expect("header").iter().map(str::to_owned).collect();
        let records = reader.records().collect::<std::result::Result<Vec<_>, _>>().expect("records");
        (header, records)
    }

    fn column(header: &[String], name: &str) -> usize {
        header.iter().position(|c| c == name).unwrap_or_else(|| panic!("no column {name}"))
    }

    #[test]
    fn same_seed_same_bytes_different_seed_different_bytes() {
        let (a, _) = generate(2_000, 7);
        let (b, _) = generate(2_000, 7);
        let (c, _) = generate(2_000, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        // A longer run starts with the shorter one.
        let (long, _) = generate(3_000, 7);
        assert!(long.starts_with(&a));
    }

    #[test]
    fn header_is_the_column_list() {
        let (bytes, report) = generate(10, 1);
        let (header, records) = parse(&bytes);
        let columns = readmission_columns();
        assert_eq!(columns.len(), 50);
        assert_eq!(header, columns);
        assert_eq!(report.columns, columns);
        assert_eq!(records.len(), 10);
        assert_eq!(columns.iter().collect::<HashSet<_>>().len(), 50, "column names are unique");
    }

    #[test]
    fn every_row_has_every_field() {
        let (bytes, _) = generate(5_000, 3);
        let text = std::str::from_utf8(&bytes).expect("utf-8");
        for (i, line) in text.lines().enumerate() {
            assert_eq!(line.split(',').count(), 50, "line {}: {line}", i + 1);
            assert!(!line.contains('"'), "no quoting needed");
        }
        assert!(text.ends_with('\n'));
        assert_eq!(text.lines().count(), 5_001);
    }

    #[test]
    fn positive_rate_is_about_eleven_percent_and_reported() {
        let (bytes, report) = generate(20_000, 11);
        let (header, records) = parse(&bytes);
        let target = column(&header, "readmitted");
        let positives = records.iter().filter(|r| &r[target] == "1").count() as u64;
        assert!(records.iter().all(|r| matches!(&r[target], "0" | "1")));
        assert_eq!(report.rows, 20_000);
        assert_eq!(report.positives, positives);
        let rate = positives as f64 / 20_000.0;
        assert!((0.09..=0.13).contains(&rate), "positive rate {rate}");
    }

    #[test]
    fn target_depends_on_prior_inpatient_visits() {
        let (bytes, _) = generate(20_000, 5);
        let (header, records) = parse(&bytes);
        let target = column(&header, "readmitted");
        let inpatient = column(&header, "number_inpatient");
        let rate = |keep: &dyn Fn(u64) -> bool| {
            let group: Vec<_> = records.iter().filter(|r| keep(r[inpatient].parse().expect("integer"))).collect();
            group.iter().filter(|r| &r[target] == "1").count() as f64 / group.len() as f64
        };
        let none = rate(&|n| n == 0);
        let several = rate(&|n| n >= 2);
        assert!(several > 2.0 * none, "rate with 0 prior stays {none}, with 2+ {several}");
    }

    #[test]
    fn missing_markers_appear_where_the_real_data_has_them() {
        let (bytes, _) = generate(20_000, 2);
        let (header, records) = parse(&bytes);
        for name in ["race", "weight", "payer_code", "medical_specialty", "diag_1", "diag_2", "diag_3"] {
            let i = column(&header, name);
            assert!(records.iter().any(|r| &r[i] == "?"), "no ? in {name}");
        }
        let weight = column(&header, "weight");
        let missing = records.iter().filter(|r| &r[weight] == "?").count();
        assert!(missing > 19_000, "weight is mostly missing: {missing}");
    }

    #[test]
    fn admission_types_are_all_in_the_mapping() {
        let mapping = admission_type_mapping_csv();
        let mut reader = csv::Reader::from_reader(mapping.as_bytes());
        assert_eq!(reader.headers().expect("header"), vec!["admission_type_id", "description"]);
        let descriptions: HashMap<String, String> = reader
            .records()
            .map(|r| {
                let r = r.expect("record");
                (r[0].to_owned(), r[1].to_owned())
            })
            .collect();
        assert_eq!(descriptions.len(), 8);
        assert_eq!(descriptions["1"], "Emergency");
        assert_eq!(descriptions["5"], "Not Available");
        assert_eq!(descriptions["8"], "Not Mapped");

        let (bytes, _) = generate(20_000, 4);
        let (header, records) = parse(&bytes);
        let i = column(&header, "admission_type_id");
        let seen: HashSet<&str> = records.iter().map(|r| r.get(i).expect("field")).collect();
        assert!(seen.len() >= 6, "most codes occur: {seen:?}");
        for code in seen {
            assert!(descriptions.contains_key(code), "code {code} is not in the mapping");
        }
    }

    #[test]
    fn values_have_the_expected_shapes() {
        let (bytes, _) = generate(5_000, 9);
        let (header, records) = parse(&bytes);
        let age = column(&header, "age");
        let first_medication = column(&header, "metformin");
        let diag = [column(&header, "diag_1"), column(&header, "diag_2"), column(&header, "diag_3")];
        let mut kinds = HashSet::new();
        for r in &records {
            assert!(AGE_BANDS.contains(&&r[age]), "age {:?}", &r[age]);
            for m in first_medication..first_medication + 23 {
                assert!(DOSE.contains(&&r[m]), "{} = {:?}", header[m], &r[m]);
            }
            assert!(matches!(&r[column(&header, "change")], "Ch" | "No"));
            assert!(matches!(&r[column(&header, "diabetesMed")], "Yes" | "No"));
            for &d in &diag {
                let code = &r[d];
                let kind = match code.as_bytes()[0] {
                    b'?' => '?',
                    b'V' => 'V',
                    b'E' => 'E',
                    b'0'..=b'9' if code.starts_with("250") => 'D',
                    b'0'..=b'9' => 'N',
                    _ => panic!("unexpected diagnosis code {code:?}"),
                };
                kinds.insert(kind);
            }
            let encounter: u64 = r[0].parse().expect("encounter id");
            let patient: u64 = r[1].parse().expect("patient");
            assert!(encounter > 0 && patient > 0);
        }
        assert_eq!(kinds.len(), 5, "all kinds of diagnosis codes occur: {kinds:?}");
        let encounters: HashSet<&str> = records.iter().map(|r| r.get(0).expect("id")).collect();
        assert_eq!(encounters.len(), records.len(), "encounter ids are unique");
        let patients: HashSet<&str> = records.iter().map(|r| r.get(1).expect("patient")).collect();
        assert!(patients.len() < records.len(), "some patients come back");
    }

    #[test]
    fn zero_rows_writes_only_the_header() {
        let (bytes, report) = generate(0, 1);
        assert_eq!(bytes, format!("{}\n", COLUMNS.join(",")).into_bytes());
        assert_eq!((report.rows, report.positives), (0, 0));
    }

    #[test]
    fn write_errors_are_reported() {
        struct Failing;
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = write_readmission_csv(Failing, 10, 1).expect_err("fails");
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
    }

    #[test]
    fn push_u64_formats_decimals() {
        for value in [0, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut line = Vec::new();
            push_u64(&mut line, value);
            assert_eq!(line, value.to_string().into_bytes());
        }
    }
}
