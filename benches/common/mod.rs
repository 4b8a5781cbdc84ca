//! Data shared by the benches.

use neuro_divergent::forecast::InputFrame;

/// A long frame from `(unique_id, ds, y)` rows.
pub fn frame(rows: impl Iterator<Item = (String, f64, f64)>) -> InputFrame {
    let mut f = InputFrame { y: Some(Vec::new()), ..Default::default() };
    for (id, ds, y) in rows {
        f.unique_id.push(id);
        f.ds.push(ds);
        f.y.as_mut().unwrap().push(y);
    }
    f
}

/// The bundled AirPassengers series with its first `n` months, index steps standing in for month
/// ends (the same windows as the calendar).
pub fn air_passengers(n: usize) -> InputFrame {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/air_passengers.csv")).expect("bundled AirPassengers");
    frame(text.lines().skip(1).take(n).enumerate().map(|(i, l)| {
        let c: Vec<&str> = l.split(',').collect();
        (c[0].to_string(), i as f64, c[2].parse().unwrap())
    }))
}
