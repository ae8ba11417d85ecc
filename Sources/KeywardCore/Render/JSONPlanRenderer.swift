/// Renders a plan as JSON for machines (`schemas/plan.schema.json`), without file contents.
public struct JSONPlanRenderer: Sendable {
  public init() {}

  public func render(_ plan: Plan) -> String {
    String(decoding: PlanDocument(plan).encoded(), as: UTF8.self)
  }
}
