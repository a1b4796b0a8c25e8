import Foundation

/// How soon a dead child is started again: at once after its first death; a child that keeps
/// dying young (a broken configuration, a missing file) waits 0.5 s, 1 s, … up to 30 s, so the
/// master does not spin. A child that lived 5 s or more resets the delay.
struct RespawnBackoff {
    private var delays: [Int: TimeInterval] = [:]

    /// The delay before restarting the child in `slot`, which lived `livedFor` seconds.
    mutating func delay(slot: Int, livedFor: TimeInterval) -> TimeInterval {
        let previous = livedFor < 5 ? delays[slot] : nil
        let delay = previous.map { min(max($0 * 2, 0.5), 30) } ?? 0
        delays[slot] = delay
        return delay
    }
}
