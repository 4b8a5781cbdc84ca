//! Pandas-style frequencies and calendar arithmetic on epoch-millisecond timestamps (UTC).
//! Month, quarter and year steps are calendar-aware: Jan 31 + 1 month end = Feb 28/29.

use crate::error::{Error, Result};

const MS_PER_DAY: i64 = 86_400_000;

/// A base calendar unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    /// Monday to Friday.
    BusinessDay,
    /// Weeks anchored on Sunday (pandas 'W' = 'W-SUN').
    Week,
    MonthStart,
    MonthEnd,
    QuarterStart,
    QuarterEnd,
    YearStart,
    YearEnd,
}

/// The step between consecutive timestamps of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Freq {
    /// `n` calendar units; timestamps are epoch milliseconds.
    Calendar { unit: Unit, n: i64 },
    /// A plain numeric step for integer `ds`.
    Step(f64),
}

const ALIASES: &str = "s, min, h, H, D, B, W, MS, M, ME, QS, Q, QE, YS, Y, YE (optionally with a multiple, e.g. '15min', '2h'), or a number";

impl Freq {
    /// Parses a pandas offset alias such as `'MS'`, `'30min'` or `'2h'`.
    pub fn parse(alias: &str) -> Result<Freq> {
        let alias = alias.trim();
        let split = alias.find(|c: char| !c.is_ascii_digit()).unwrap_or(alias.len());
        let (digits, name) = alias.split_at(split);
        let n: i64 = if digits.is_empty() { 1 } else { digits.parse().map_err(|_| bad_freq(alias))? };
        if n < 1 {
            return Err(bad_freq(alias));
        }
        let unit = match name {
            "s" | "S" => Unit::Second,
            "min" | "T" => Unit::Minute,
            "h" | "H" => Unit::Hour,
            "D" => Unit::Day,
            "B" => Unit::BusinessDay,
            "W" | "W-SUN" => Unit::Week,
            "MS" => Unit::MonthStart,
            "M" | "ME" => Unit::MonthEnd,
            "QS" | "QS-JAN" => Unit::QuarterStart,
            "Q" | "QE" | "Q-DEC" | "QE-DEC" => Unit::QuarterEnd,
            "YS" | "AS" | "YS-JAN" => Unit::YearStart,
            "Y" | "YE" | "A" | "Y-DEC" | "YE-DEC" => Unit::YearEnd,
            _ => return Err(bad_freq(alias)),
        };
        Ok(Freq::Calendar { unit, n })
    }

    /// A numeric step for integer `ds`.
    pub fn step(step: f64) -> Result<Freq> {
        if !(step.is_finite() && step > 0.0) {
            return Err(Error::range(format!("freq must be a positive number when numeric, got {step}")));
        }
        Ok(Freq::Step(step))
    }

    pub fn is_calendar(&self) -> bool {
        matches!(self, Freq::Calendar { .. })
    }

    /// The timestamp `k` steps after `ds` (k may be negative).
    pub fn advance(&self, ds: f64, k: i64) -> f64 {
        match *self {
            Freq::Step(s) => ds + s * k as f64,
            Freq::Calendar { unit, n } => advance_calendar(ds as i64, unit, n * k) as f64,
        }
    }

    /// How many steps lead from `a` to `b`, or None when `b` is not on `a`'s grid.
    pub fn steps_between(&self, a: f64, b: f64) -> Option<i64> {
        match *self {
            Freq::Step(s) => {
                let k = ((b - a) / s).round();
                ((a + k * s - b).abs() <= 1e-9 * s.max(1.0)).then_some(k as i64)
            }
            Freq::Calendar { unit, n } => {
                let (a, b) = (a as i64, b as i64);
                let guess = match unit {
                    Unit::MonthStart | Unit::MonthEnd => month_index(b) - month_index(a),
                    Unit::QuarterStart | Unit::QuarterEnd => (month_index(b) - month_index(a)).div_euclid(3),
                    Unit::YearStart | Unit::YearEnd => (month_index(b) - month_index(a)).div_euclid(12),
                    Unit::BusinessDay => business_days_between(a, b),
                    _ => (b - a).div_euclid(fixed_ms(unit)),
                };
                let k = guess.div_euclid(n);
                (advance_calendar(a, unit, n * k) == b).then_some(k)
            }
        }
    }
}

fn bad_freq(alias: &str) -> Error {
    Error::range(format!("freq '{alias}' is not a supported frequency; use one of {ALIASES}"))
}

fn fixed_ms(unit: Unit) -> i64 {
    match unit {
        Unit::Second => 1000,
        Unit::Minute => 60_000,
        Unit::Hour => 3_600_000,
        Unit::Day => MS_PER_DAY,
        Unit::Week => 7 * MS_PER_DAY,
        _ => unreachable!("not a fixed-length unit"),
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (y, m, d) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)
}

/// Months since year 0 of the timestamp's civil date.
fn month_index(ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    y * 12 + (m - 1)
}

fn weekday(days: i64) -> i64 {
    // 1970-01-01 was a Thursday; 0 = Monday.
    (days + 3).rem_euclid(7)
}

fn business_days_between(a: i64, b: i64) -> i64 {
    let (da, db) = (a.div_euclid(MS_PER_DAY), b.div_euclid(MS_PER_DAY));
    let (lo, hi, sign) = if db >= da { (da, db, 1) } else { (db, da, -1) };
    let weeks = (hi - lo) / 7;
    let mut count = weeks * 5;
    let mut d = lo + weeks * 7;
    while d < hi {
        d += 1;
        if weekday(d) < 5 {
            count += 1;
        }
    }
    sign * count
}

fn advance_calendar(ms: i64, unit: Unit, k: i64) -> i64 {
    let day = ms.div_euclid(MS_PER_DAY);
    let time = ms.rem_euclid(MS_PER_DAY);
    let months = |step: i64, at_end: bool| {
        let (y, m, _) = civil_from_days(day);
        let idx = y * 12 + (m - 1) + step;
        let (ny, nm) = (idx.div_euclid(12), idx.rem_euclid(12) + 1);
        let nd = if at_end { days_in_month(ny, nm) } else { 1 };
        days_from_civil(ny, nm, nd) * MS_PER_DAY + time
    };
    match unit {
        Unit::MonthStart => months(k, false),
        Unit::MonthEnd => months(k, true),
        Unit::QuarterStart => months(3 * k, false),
        Unit::QuarterEnd => months(3 * k, true),
        Unit::YearStart => months(12 * k, false),
        Unit::YearEnd => months(12 * k, true),
        Unit::BusinessDay => {
            let mut d = day;
            let step = k.signum();
            let mut left = k.abs();
            // Whole weeks first, then day by day over weekends.
            d += step * (left / 5) * 7;
            left %= 5;
            while left > 0 {
                d += step;
                if weekday(d) < 5 {
                    left -= 1;
                }
            }
            d * MS_PER_DAY + time
        }
        _ => ms + k * fixed_ms(unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i64, m: i64, d: i64) -> f64 {
        (days_from_civil(y, m, d) * MS_PER_DAY) as f64
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 59, 11_016, 19_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn month_ends_are_calendar_aware() {
        let me = Freq::parse("ME").unwrap();
        assert_eq!(me.advance(ms(2024, 1, 31), 1), ms(2024, 2, 29));
        assert_eq!(me.advance(ms(2023, 1, 31), 1), ms(2023, 2, 28));
        assert_eq!(me.advance(ms(2023, 2, 28), 1), ms(2023, 3, 31));
        assert_eq!(me.advance(ms(2023, 3, 31), -13), ms(2022, 2, 28));
        assert_eq!(me.steps_between(ms(1949, 1, 31), ms(1960, 12, 31)), Some(143));
        let ms_ = Freq::parse("MS").unwrap();
        assert_eq!(ms_.advance(ms(2023, 12, 1), 2), ms(2024, 2, 1));
        assert_eq!(ms_.steps_between(ms(2023, 12, 1), ms(2024, 2, 2)), None);
        let q = Freq::parse("Q").unwrap();
        assert_eq!(q.advance(ms(2023, 3, 31), 1), ms(2023, 6, 30));
        assert_eq!(Freq::parse("YS").unwrap().advance(ms(2020, 1, 1), 3), ms(2023, 1, 1));
    }

    #[test]
    fn business_days_skip_weekends() {
        let b = Freq::parse("B").unwrap();
        // 2024-01-05 is a Friday.
        assert_eq!(b.advance(ms(2024, 1, 5), 1), ms(2024, 1, 8));
        assert_eq!(b.advance(ms(2024, 1, 8), -1), ms(2024, 1, 5));
        assert_eq!(b.advance(ms(2024, 1, 1), 10), ms(2024, 1, 15));
        assert_eq!(b.steps_between(ms(2024, 1, 5), ms(2024, 1, 8)), Some(1));
        assert_eq!(b.steps_between(ms(2024, 1, 1), ms(2024, 1, 15)), Some(10));
    }

    #[test]
    fn multiples_and_fixed_units() {
        let f = Freq::parse("15min").unwrap();
        assert_eq!(f.advance(0.0, 4), 3_600_000.0);
        assert_eq!(f.steps_between(0.0, 1_800_000.0), Some(2));
        assert_eq!(f.steps_between(0.0, 1_000.0), None);
        assert_eq!(Freq::parse("2h").unwrap().advance(0.0, 1), 7_200_000.0);
        assert_eq!(Freq::step(1.0).unwrap().steps_between(3.0, 10.0), Some(7));
    }

    #[test]
    fn bad_aliases_name_the_problem() {
        for bad in ["", "X", "0D", "mins", "-1h"] {
            let e = Freq::parse(bad).unwrap_err();
            assert!(e.message.contains("freq"), "{e}");
        }
        assert!(Freq::step(0.0).is_err());
        assert!(Freq::step(f64::NAN).is_err());
    }
}
