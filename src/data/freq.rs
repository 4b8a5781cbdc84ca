//! Pandas-style frequencies and calendar arithmetic on epoch-millisecond timestamps (UTC).
//! Month, quarter and year steps are calendar-aware: Jan 31 + 1 month end = Feb 28/29.

use std::sync::Arc;

use crate::error::{Error, Result};

const MS_PER_DAY: i64 = 86_400_000;

/// A base calendar unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    /// Monday to Friday, minus the freq's holidays.
    BusinessDay,
    /// Weeks anchored on a weekday (0 = Monday ... 6 = Sunday); pandas 'W' = 'W-SUN'.
    Week(u8),
    MonthStart,
    MonthEnd,
    QuarterStart,
    QuarterEnd,
    YearStart,
    YearEnd,
}

/// The step between consecutive timestamps of a series.
#[derive(Clone, Debug, PartialEq)]
pub enum Freq {
    /// `n` calendar units; timestamps are epoch milliseconds. `holidays` (days since 1970-01-01,
    /// sorted, weekdays only) are skipped by business-day steps and empty for every other unit.
    Calendar { unit: Unit, n: i64, holidays: Arc<[i64]> },
    /// A plain numeric step for integer `ds`.
    Step(f64),
}

const ALIASES: &str = "s, min, h, H, D, B, W, W-MON ... W-SUN, MS, M, ME, QS, Q, QE, YS, Y, YE (optionally with a multiple, e.g. '15min', '2h', '2W-FRI'), or a number";

const WEEKDAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
const WEEKDAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

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
            "W" => Unit::Week(6),
            w if w.starts_with("W-") => Unit::Week(WEEKDAYS.iter().position(|d| *d == &w[2..]).ok_or_else(|| bad_freq(alias))? as u8),
            "MS" => Unit::MonthStart,
            "M" | "ME" => Unit::MonthEnd,
            "QS" | "QS-JAN" => Unit::QuarterStart,
            "Q" | "QE" | "Q-DEC" | "QE-DEC" => Unit::QuarterEnd,
            "YS" | "AS" | "YS-JAN" => Unit::YearStart,
            "Y" | "YE" | "A" | "Y-DEC" | "YE-DEC" => Unit::YearEnd,
            _ => return Err(bad_freq(alias)),
        };
        Ok(Freq::Calendar { unit, n, holidays: Arc::from([]) })
    }

    /// The business-day freq that also skips `holidays` (epoch milliseconds of the days, any time
    /// of day): exchange calendars, where pandas would use a CustomBusinessDay. Holidays on
    /// weekends change nothing and are dropped.
    pub fn with_holidays(self, holidays: &[f64]) -> Result<Freq> {
        if holidays.is_empty() {
            return Ok(self);
        }
        match self {
            Freq::Calendar { unit: Unit::BusinessDay, n, .. } => {
                let mut days = Vec::with_capacity(holidays.len());
                for (i, &h) in holidays.iter().enumerate() {
                    if !h.is_finite() {
                        return Err(Error::type_err(format!("NeuralForecast option 'holidays' entry {i} is not a valid date")));
                    }
                    let d = (h as i64).div_euclid(MS_PER_DAY);
                    if weekday(d) < 5 {
                        days.push(d);
                    }
                }
                days.sort_unstable();
                days.dedup();
                Ok(Freq::Calendar { unit: Unit::BusinessDay, n, holidays: days.into() })
            }
            other => Err(Error::type_err(format!("NeuralForecast option 'holidays' needs a business-day freq such as 'B', got freq '{}'", other.alias()))),
        }
    }

    /// The freq as a pandas alias (a number for numeric steps), for messages.
    pub fn alias(&self) -> String {
        match self {
            Freq::Step(s) => format!("{s}"),
            Freq::Calendar { unit, n, .. } => {
                let name = match unit {
                    Unit::Second => "s".to_string(),
                    Unit::Minute => "min".into(),
                    Unit::Hour => "h".into(),
                    Unit::Day => "D".into(),
                    Unit::BusinessDay => "B".into(),
                    Unit::Week(6) => "W".into(),
                    Unit::Week(a) => format!("W-{}", WEEKDAYS[*a as usize]),
                    Unit::MonthStart => "MS".into(),
                    Unit::MonthEnd => "ME".into(),
                    Unit::QuarterStart => "QS".into(),
                    Unit::QuarterEnd => "QE".into(),
                    Unit::YearStart => "YS".into(),
                    Unit::YearEnd => "YE".into(),
                };
                if *n == 1 { name } else { format!("{n}{name}") }
            }
        }
    }

    /// Why `ds` cannot be a timestamp of this freq at all, whatever precedes it (a Saturday for
    /// 'B', a holiday, a Friday for 'W-SUN'); None when it can.
    pub fn off_grid(&self, ds: f64) -> Option<String> {
        let Freq::Calendar { unit, holidays, .. } = self else { return None };
        let day = (ds as i64).div_euclid(MS_PER_DAY);
        match *unit {
            Unit::BusinessDay if weekday(day) >= 5 => Some(format!("is a {}, and business-day freq '{}' has Monday to Friday only", WEEKDAY_NAMES[weekday(day) as usize], self.alias())),
            Unit::BusinessDay if holidays.binary_search(&day).is_ok() => Some("is one of the 'holidays', which business-day steps skip".into()),
            Unit::Week(a) if weekday(day) != a as i64 => Some(format!(
                "is a {}, but freq '{}' has {}s only (use 'W-{}' for weeks on {}s)",
                WEEKDAY_NAMES[weekday(day) as usize],
                self.alias(),
                WEEKDAY_NAMES[a as usize],
                WEEKDAYS[weekday(day) as usize],
                WEEKDAY_NAMES[weekday(day) as usize]
            )),
            _ => None,
        }
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
            Freq::Calendar { unit, n, ref holidays } => advance_calendar(ds as i64, unit, n * k, holidays) as f64,
        }
    }

    /// How many steps lead from `a` to `b`, or None when `b` is not on `a`'s grid.
    pub fn steps_between(&self, a: f64, b: f64) -> Option<i64> {
        // Consecutive rows are one step apart: one advance answers that, where the general count
        // below takes three calendar conversions (each row of every predict's input comes here).
        if self.advance(a, 1) == b {
            return Some(1);
        }
        match *self {
            Freq::Step(s) => {
                let k = ((b - a) / s).round();
                ((a + k * s - b).abs() <= 1e-9 * s.max(1.0)).then_some(k as i64)
            }
            Freq::Calendar { unit, n, ref holidays } => {
                let (a, b) = (a as i64, b as i64);
                let guess = match unit {
                    Unit::MonthStart | Unit::MonthEnd => month_index(b) - month_index(a),
                    Unit::QuarterStart | Unit::QuarterEnd => (month_index(b) - month_index(a)).div_euclid(3),
                    Unit::YearStart | Unit::YearEnd => (month_index(b) - month_index(a)).div_euclid(12),
                    Unit::BusinessDay => business_index(b.div_euclid(MS_PER_DAY), holidays) - business_index(a.div_euclid(MS_PER_DAY), holidays),
                    _ => (b - a).div_euclid(fixed_ms(unit)),
                };
                let k = guess.div_euclid(n);
                (advance_calendar(a, unit, n * k, holidays) == b).then_some(k)
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
        Unit::Week(_) => 7 * MS_PER_DAY,
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

/// Months since year 0 of the timestamp's civil date.
fn month_index(ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    y * 12 + (m - 1)
}

fn weekday(days: i64) -> i64 {
    // 1970-01-01 was a Thursday; 0 = Monday.
    (days + 3).rem_euclid(7)
}

/// Weekdays in [day 0, `day`) (negative before 1970-01-01, a Thursday).
fn weekdays_before(day: i64) -> i64 {
    // Weekdays among the first r days of a week that starts on Thursday.
    const PREFIX: [i64; 7] = [0, 1, 2, 2, 2, 3, 4];
    5 * day.div_euclid(7) + PREFIX[day.rem_euclid(7) as usize]
}

/// The day that is weekday number `q` (the inverse of `weekdays_before` on weekdays).
fn weekday_number(q: i64) -> i64 {
    const OFFSET: [i64; 5] = [0, 1, 4, 5, 6]; // Thu, Fri, Mon, Tue, Wed
    7 * q.div_euclid(5) + OFFSET[q.rem_euclid(5) as usize]
}

/// Business days before `day`: weekdays minus holidays (sorted weekday days), so that two
/// business days are `business_index(b) - business_index(a)` steps apart.
fn business_index(day: i64, holidays: &[i64]) -> i64 {
    weekdays_before(day) - holidays.partition_point(|&h| h < day) as i64
}

/// The business day with index `p`. The least q with q = p + #(holidays <= weekday q) gives it;
/// iterating from q = p climbs to that least fixed point, which is never a holiday.
fn business_day(p: i64, holidays: &[i64]) -> i64 {
    let mut q = p;
    loop {
        let next = p + holidays.partition_point(|&h| h <= weekday_number(q)) as i64;
        if next == q {
            return weekday_number(q);
        }
        q = next;
    }
}

fn advance_calendar(ms: i64, unit: Unit, k: i64, holidays: &[i64]) -> i64 {
    let day = ms.div_euclid(MS_PER_DAY);
    let time = ms.rem_euclid(MS_PER_DAY);
    let months = |step: i64, at_end: bool| {
        let (y, m, _) = civil_from_days(day);
        // A month's end is the day before the next month's first: one conversion, not three.
        let idx = y * 12 + (m - 1) + step + i64::from(at_end);
        let (ny, nm) = (idx.div_euclid(12), idx.rem_euclid(12) + 1);
        (days_from_civil(ny, nm, 1) - i64::from(at_end)) * MS_PER_DAY + time
    };
    match unit {
        Unit::MonthStart => months(k, false),
        Unit::MonthEnd => months(k, true),
        Unit::QuarterStart => months(3 * k, false),
        Unit::QuarterEnd => months(3 * k, true),
        Unit::YearStart => months(12 * k, false),
        Unit::YearEnd => months(12 * k, true),
        Unit::BusinessDay => {
            // From a weekend day or holiday this lands on the next business day's grid, as pandas
            // rolls forward; data on such days is refused by `off_grid` before it gets here.
            business_day(business_index(day, holidays) + k, holidays) * MS_PER_DAY + time
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
    fn month_quarter_and_year_ends_match_the_calendar_over_three_centuries() {
        let last_day = |y: i64, m: i64| {
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][(m - 1) as usize]
        };
        let (me, qe, ye) = (Freq::parse("ME").unwrap(), Freq::parse("QE").unwrap(), Freq::parse("YE").unwrap());
        for y in 1850..2150 {
            for m in 1..=12 {
                let at = ms(y, m, last_day(y, m)) + 3_600_000.0;
                for k in [-25, -13, -12, -1, 1, 2, 11, 12, 13, 25] {
                    let idx = y * 12 + (m - 1) + k;
                    let (ny, nm) = (idx.div_euclid(12), idx.rem_euclid(12) + 1);
                    assert_eq!(me.advance(at, k), ms(ny, nm, last_day(ny, nm)) + 3_600_000.0, "{y}-{m} + {k} months");
                }
                if m % 3 == 0 {
                    let idx = y * 12 + (m - 1) + 3;
                    let (ny, nm) = (idx.div_euclid(12), idx.rem_euclid(12) + 1);
                    assert_eq!(qe.advance(at, 1), ms(ny, nm, last_day(ny, nm)) + 3_600_000.0, "{y}-{m} + 1 quarter");
                }
            }
            assert_eq!(ye.advance(ms(y, 12, 31), -1), ms(y - 1, 12, 31));
        }
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
    fn business_days_skip_holidays() {
        let day = |y, m, d| ms(y, m, d);
        // 2024-01-15 (MLK day, a Monday) and 2024-02-19 (Presidents' Day); the Saturday is ignored.
        let b = Freq::parse("B").unwrap().with_holidays(&[day(2024, 1, 15), day(2024, 2, 19), day(2024, 1, 13)]).unwrap();
        assert_eq!(b.advance(day(2024, 1, 12), 1), day(2024, 1, 16));
        assert_eq!(b.advance(day(2024, 1, 16), -1), day(2024, 1, 12));
        assert_eq!(b.steps_between(day(2024, 1, 12), day(2024, 1, 16)), Some(1));
        assert_eq!(b.steps_between(day(2024, 1, 12), day(2024, 1, 15)), None);
        // 2024-01-02 .. 2024-02-29: 43 weekdays, 2 holidays.
        assert_eq!(b.steps_between(day(2024, 1, 2), day(2024, 2, 29)), Some(40));
        assert_eq!(b.advance(day(2024, 1, 2), 40), day(2024, 2, 29));
        assert_eq!(b.advance(day(2024, 2, 29), -40), day(2024, 1, 2));
        // Two holidays in a row (Thu, Fri) and a multiple.
        let b2 = Freq::parse("2B").unwrap().with_holidays(&[day(2024, 3, 28), day(2024, 3, 29)]).unwrap();
        assert_eq!(b2.advance(day(2024, 3, 27), 1), day(2024, 4, 2));
        assert_eq!(b.off_grid(day(2024, 1, 15)).unwrap(), "is one of the 'holidays', which business-day steps skip");
        assert!(b.off_grid(day(2024, 1, 13)).unwrap().contains("Saturday"));
        assert!(b.off_grid(day(2024, 1, 16)).is_none());
        // Matches the plain business-day arithmetic without holidays, across years and before 1970.
        let plain = Freq::parse("B").unwrap();
        let mut d = day(1969, 12, 1);
        for _ in 0..300 {
            let next = plain.advance(d, 1);
            assert_eq!(plain.steps_between(d, next), Some(1));
            assert_eq!(plain.advance(next, -1), d);
            d = next;
        }
        let e = Freq::parse("D").unwrap().with_holidays(&[day(2024, 1, 15)]).unwrap_err();
        assert!(e.message.contains("'holidays'") && e.message.contains("'D'"), "{e}");
    }

    #[test]
    fn anchored_weeks() {
        // 2024-01-05 is a Friday, 2024-01-07 a Sunday.
        let fri = Freq::parse("W-FRI").unwrap();
        assert_eq!(fri.advance(ms(2024, 1, 5), 1), ms(2024, 1, 12));
        assert_eq!(fri.advance(ms(2024, 1, 5), -52), ms(2023, 1, 6));
        assert_eq!(fri.steps_between(ms(2024, 1, 5), ms(2024, 2, 2)), Some(4));
        assert!(fri.off_grid(ms(2024, 1, 5)).is_none());
        let e = fri.off_grid(ms(2024, 1, 7)).unwrap();
        assert!(e.contains("is a Sunday") && e.contains("'W-FRI' has Fridays only") && e.contains("'W-SUN'"), "{e}");
        let w = Freq::parse("W").unwrap();
        assert_eq!(w, Freq::parse("W-SUN").unwrap());
        assert!(w.off_grid(ms(2024, 1, 7)).is_none());
        assert!(w.off_grid(ms(2024, 1, 5)).unwrap().contains("use 'W-FRI'"));
        let two = Freq::parse("2W-MON").unwrap();
        assert_eq!(two.advance(ms(2024, 1, 1), 1), ms(2024, 1, 15));
        assert_eq!(two.steps_between(ms(2024, 1, 1), ms(2024, 1, 8)), None);
        assert_eq!(two.alias(), "2W-MON");
        for (i, d) in WEEKDAYS.iter().enumerate() {
            assert_eq!(Freq::parse(&format!("W-{d}")).unwrap(), Freq::Calendar { unit: Unit::Week(i as u8), n: 1, holidays: Arc::from([]) });
        }
        assert!(Freq::parse("W-FRIDAY").is_err());
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
        for bad in ["", "X", "0D", "mins", "-1h", "W-", "W-XYZ"] {
            let e = Freq::parse(bad).unwrap_err();
            assert!(e.message.contains("freq"), "{e}");
        }
        assert!(Freq::step(0.0).is_err());
        assert!(Freq::step(f64::NAN).is_err());
    }
}
