/// A catalog that cannot be used, naming its file and, when it is one line's fault, the line:
/// what `check` and startup print.
public struct CatalogError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int?
    public let problem: String

    public var description: String {
        if let line { return "\(file):\(line): \(problem)" }
        return "\(file): \(problem)"
    }
}
