import AllauthCore
import Foundation

/// `count` requests per `window` seconds: `10/m`, `5/300s`.
public struct Rate: Sendable, Equatable {
    public var count: Int
    public var window: TimeInterval

    public init(count: Int, window: TimeInterval) {
        self.count = count
        self.window = window
    }

    /// `COUNT/WINDOW`, the window a unit (`s`, `m`, `h`, `d`, `sec`, `min`, `hour`, `day`) or a duration.
    public static func parse(_ text: String) -> Rate? {
        let parts = text.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let count = Int(parts[0]), count > 0 else { return nil }
        let windowText = parts[1].lowercased()
        let named: [String: TimeInterval] = ["s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400]
        if let window = named[windowText] { return Rate(count: count, window: window) }
        guard let window = ConfigReader.parseDuration(windowText), window > 0 else { return nil }
        return Rate(count: count, window: window)
    }
}

extension ConfigReader {
    /// A rate, or nil when `off` or explicitly null; `defaultValue` is the rate's text.
    package mutating func rate(_ key: SettingKey, default defaultValue: String?) throws(ConfigError) -> Rate? {
        let text = try optionalString(key) ?? (isExplicitlyNull(key) ? nil : defaultValue)
        guard let text, text.lowercased() != "off" else { return nil }
        guard let rate = Rate.parse(text) else {
            throw ConfigError(key: key.name, problem: "expected a rate like 10/m, 5/300s or off, got \"\(text)\"")
        }
        return rate
    }
}
