import Foundation

/// The tests read JSON with Foundation's parser, independently of the service's own.
struct JSONValue {
    let raw: Any

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        JSONValue(raw: try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]))
    }

    subscript(key: String) -> JSONValue? {
        (raw as? [String: Any])?[key].map(JSONValue.init)
    }

    subscript(index: Int) -> JSONValue? {
        guard let array = raw as? [Any], index < array.count else { return nil }
        return JSONValue(raw: array[index])
    }

    var string: String? { raw as? String }
    var int: Int? { (raw as? NSNumber)?.intValue }
    var bool: Bool? { (raw as? NSNumber).map { $0.boolValue } }
    var array: [JSONValue]? { (raw as? [Any])?.map(JSONValue.init) }
    var keys: Set<String> { Set((raw as? [String: Any])?.keys.map { $0 } ?? []) }
    var isNull: Bool { raw is NSNull }
}
