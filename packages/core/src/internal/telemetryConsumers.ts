import * as Metric from "effect/Metric"
import type * as Position from "../Position.js"
import * as Metrics from "./telemetryMetrics.js"

/**
 * What a consumer tells the metrics about its checkpoint.
 *
 * @internal
 */
export interface CheckpointTelemetry {
  /** The consumer holds this checkpoint (the one its lease gave it): the position gauge, not the counter. */
  readonly holds: (position: Position.Position) => void
  /** The consumer stored this checkpoint: counted, and the position gauge set to it. */
  readonly saved: (position: Position.Position) => void
}

/**
 * The checkpoint metrics of one consumer, tagged with its name once for its whole run rather than at each save.
 *
 * @internal
 */
export const forConsumer = (consumer: string): CheckpointTelemetry => {
  const checkpoints = Metric.tagged(Metrics.consumerCheckpoints, "consumer", consumer)
  const position = Metric.tagged(Metrics.consumerPosition, "consumer", consumer)
  // The sequence number: the position as one number (a PostgreSQL position's commit is left out).
  const holds = (at: Position.Position) => position.unsafeUpdate(Number(at.sequence), Metrics.noLabels)
  return {
    holds,
    saved: (at) => {
      checkpoints.unsafeUpdate(1, Metrics.noLabels)
      holds(at)
    }
  }
}
