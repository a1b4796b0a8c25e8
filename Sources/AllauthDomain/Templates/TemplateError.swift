/// Why the template library refused to load or render; always names the file, so a broken
/// override is fixed from the message alone.
public struct TemplateError: Error, CustomStringConvertible, Equatable {
    /// The template file (or directory) at fault.
    public var file: String
    public var problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "templates: \(file): \(problem)" }
}
