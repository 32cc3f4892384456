// A second example domain for the laws' own tests: a task board. Not a CRM: its events are mostly keyed by a task,
// one command emits two events, and closing the board depends on every task, so its registry mixes `sameKey`
// rules with unconditional conflicts across keys. Identifiers come from tiny domains so generated events collide.
import { ConflictRegistry, Decider } from "@concord/core"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

const Small = (name: string, samples: ReadonlyArray<string>) =>
  Schema.String.pipe(
    Schema.minLength(1),
    Schema.annotations({ identifier: name, arbitrary: () => (fc) => fc.constantFrom(...samples) })
  )

export const TaskId = Small("TaskId", ["t1", "t2"])
export const CommentId = Small("CommentId", ["c1", "c2"])
export const Member = Small("Member", ["ann", "bob"])
export const Title = Small("Title", ["draft", "final", "later"])
export const Text = Small("Text", ["hi", "done?"])

// -----------------------------------------------------------------------------
// Events
// -----------------------------------------------------------------------------

export const TaskCreated = Schema.TaggedStruct("TaskCreated", { taskId: TaskId, title: Title })
export const TaskRenamed = Schema.TaggedStruct("TaskRenamed", { taskId: TaskId, title: Title })
export const TaskAssigned = Schema.TaggedStruct("TaskAssigned", { taskId: TaskId, assignee: Member })
export const TaskUnassigned = Schema.TaggedStruct("TaskUnassigned", { taskId: TaskId })
export const TaskCompleted = Schema.TaggedStruct("TaskCompleted", { taskId: TaskId })
export const TaskReopened = Schema.TaggedStruct("TaskReopened", { taskId: TaskId })
export const TaskDeleted = Schema.TaggedStruct("TaskDeleted", { taskId: TaskId })
export const CommentPosted = Schema.TaggedStruct("CommentPosted", { commentId: CommentId, taskId: TaskId, text: Text })
export const BoardClosed = Schema.TaggedStruct("BoardClosed", {})

export const TaskEvent = Schema.Union(
  TaskCreated,
  TaskRenamed,
  TaskAssigned,
  TaskUnassigned,
  TaskCompleted,
  TaskReopened,
  TaskDeleted,
  CommentPosted,
  BoardClosed
)
export type TaskEvent = typeof TaskEvent.Type

// -----------------------------------------------------------------------------
// State
// -----------------------------------------------------------------------------

export class Task extends Data.Class<{
  readonly title: string
  readonly assignee: Option.Option<string>
  readonly done: boolean
}> {}

export class Comment extends Data.Class<{ readonly taskId: string; readonly text: string }> {}

// Comments are kept by the board, not by their task: deleting a task leaves its thread, so a comment and a deletion
// commute and conflict only because the comment's author decided on a task that is gone.
export class Board extends Data.Class<{
  readonly closed: boolean
  readonly tasks: HashMap.HashMap<string, Task>
  readonly comments: HashMap.HashMap<string, Comment>
}> {}

export const initial: Board = new Board({ closed: false, tasks: HashMap.empty(), comments: HashMap.empty() })

const updateTask = (board: Board, taskId: string, f: (task: Task) => Task): Board =>
  new Board({ ...board, tasks: HashMap.modify(board.tasks, taskId, f) })

// Total over every state: an event about a task that is not there changes nothing, and a creation replaces the task.
export const evolve = (board: Board, event: TaskEvent): Board => {
  switch (event._tag) {
    case "TaskCreated":
      return new Board({
        ...board,
        tasks: HashMap.set(
          board.tasks,
          event.taskId,
          new Task({ title: event.title, assignee: Option.none(), done: false })
        )
      })
    case "TaskRenamed":
      return updateTask(board, event.taskId, (task) => new Task({ ...task, title: event.title }))
    case "TaskAssigned":
      return updateTask(board, event.taskId, (task) => new Task({ ...task, assignee: Option.some(event.assignee) }))
    case "TaskUnassigned":
      return updateTask(board, event.taskId, (task) => new Task({ ...task, assignee: Option.none() }))
    case "TaskCompleted":
      return updateTask(board, event.taskId, (task) => new Task({ ...task, done: true }))
    case "TaskReopened":
      return updateTask(board, event.taskId, (task) => new Task({ ...task, done: false }))
    case "TaskDeleted":
      return new Board({ ...board, tasks: HashMap.remove(board.tasks, event.taskId) })
    case "CommentPosted":
      return new Board({
        ...board,
        comments: HashMap.set(board.comments, event.commentId, new Comment({ taskId: event.taskId, text: event.text }))
      })
    case "BoardClosed":
      return new Board({ ...board, closed: true })
  }
}

// -----------------------------------------------------------------------------
// Commands
// -----------------------------------------------------------------------------

export const CreateTask = Schema.TaggedStruct("CreateTask", { taskId: TaskId, title: Title })
export const RenameTask = Schema.TaggedStruct("RenameTask", { taskId: TaskId, title: Title })
export const AssignTask = Schema.TaggedStruct("AssignTask", { taskId: TaskId, assignee: Member })
export const UnassignTask = Schema.TaggedStruct("UnassignTask", { taskId: TaskId })
export const CompleteTask = Schema.TaggedStruct("CompleteTask", { taskId: TaskId })
export const ReopenTask = Schema.TaggedStruct("ReopenTask", { taskId: TaskId })
export const DeleteTask = Schema.TaggedStruct("DeleteTask", { taskId: TaskId })
export const PostComment = Schema.TaggedStruct("PostComment", { commentId: CommentId, taskId: TaskId, text: Text })
export const CloseBoard = Schema.TaggedStruct("CloseBoard", {})

export const TaskCommand = Schema.Union(
  CreateTask,
  RenameTask,
  AssignTask,
  UnassignTask,
  CompleteTask,
  ReopenTask,
  DeleteTask,
  PostComment,
  CloseBoard
)
export type TaskCommand = typeof TaskCommand.Type

export class BoardIsClosed extends Schema.TaggedError<BoardIsClosed>()("BoardIsClosed", {}) {}
export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", { taskId: Schema.String }) {}
export class TaskAlreadyExists extends Schema.TaggedError<TaskAlreadyExists>()("TaskAlreadyExists", {
  taskId: Schema.String
}) {}
export class TaskIsCompleted extends Schema.TaggedError<TaskIsCompleted>()("TaskIsCompleted", {
  taskId: Schema.String
}) {}
export class TaskIsOpen extends Schema.TaggedError<TaskIsOpen>()("TaskIsOpen", { taskId: Schema.String }) {}
export class TaskAlreadyAssigned extends Schema.TaggedError<TaskAlreadyAssigned>()("TaskAlreadyAssigned", {
  taskId: Schema.String,
  assignee: Schema.String
}) {}
export class TaskNotAssigned extends Schema.TaggedError<TaskNotAssigned>()("TaskNotAssigned", {
  taskId: Schema.String
}) {}
export class CommentAlreadyExists extends Schema.TaggedError<CommentAlreadyExists>()("CommentAlreadyExists", {
  commentId: Schema.String
}) {}
export class OpenTasksRemain extends Schema.TaggedError<OpenTasksRemain>()("OpenTasksRemain", {
  taskIds: Schema.Array(Schema.String)
}) {}

export type TaskError =
  | BoardIsClosed
  | TaskNotFound
  | TaskAlreadyExists
  | TaskIsCompleted
  | TaskIsOpen
  | TaskAlreadyAssigned
  | TaskNotAssigned
  | CommentAlreadyExists
  | OpenTasksRemain

type Decision = Effect.Effect<ReadonlyArray<TaskEvent>, TaskError>

const existing = (board: Board, taskId: string): Effect.Effect<Task, TaskNotFound> =>
  Option.match(HashMap.get(board.tasks, taskId), {
    onNone: () => Effect.fail(new TaskNotFound({ taskId })),
    onSome: Effect.succeed
  })

const open = (board: Board, taskId: string): Effect.Effect<Task, TaskNotFound | TaskIsCompleted> =>
  Effect.filterOrFail(existing(board, taskId), (task) => !task.done, () => new TaskIsCompleted({ taskId }))

const assigned = (task: Task, taskId: string): Effect.Effect<void, TaskNotAssigned> =>
  Option.isSome(task.assignee) ? Effect.void : Effect.fail(new TaskNotAssigned({ taskId }))

const onTask = (board: Board, command: Exclude<TaskCommand, { readonly _tag: "CloseBoard" }>): Decision => {
  const { taskId } = command
  switch (command._tag) {
    case "CreateTask":
      return HashMap.has(board.tasks, taskId)
        ? Effect.fail(new TaskAlreadyExists({ taskId }))
        : Effect.succeed([TaskCreated.make({ taskId, title: command.title })])
    case "RenameTask":
      return Effect.as(open(board, taskId), [TaskRenamed.make({ taskId, title: command.title })])
    case "AssignTask":
      return Effect.flatMap(open(board, taskId), (task) =>
        Option.match(task.assignee, {
          onSome: (assignee) => Effect.fail(new TaskAlreadyAssigned({ taskId, assignee })),
          onNone: () => Effect.succeed([TaskAssigned.make({ taskId, assignee: command.assignee })])
        }))
    case "UnassignTask":
      // A completed task may still be handed back.
      return Effect.flatMap(
        existing(board, taskId),
        (task) => Effect.as(assigned(task, taskId), [TaskUnassigned.make({ taskId })])
      )
    case "CompleteTask":
      return Effect.flatMap(
        open(board, taskId),
        (task) => Effect.as(assigned(task, taskId), [TaskCompleted.make({ taskId })])
      )
    case "ReopenTask":
      return Effect.flatMap(
        existing(board, taskId),
        (task) => task.done ? Effect.succeed([TaskReopened.make({ taskId })]) : Effect.fail(new TaskIsOpen({ taskId }))
      )
    case "DeleteTask":
      // The assignee is released first, so the log says who no longer holds the task.
      return Effect.map(existing(board, taskId), (task) =>
        Option.isSome(task.assignee)
          ? [TaskUnassigned.make({ taskId }), TaskDeleted.make({ taskId })]
          : [TaskDeleted.make({ taskId })])
    case "PostComment":
      return Effect.zipRight(
        existing(board, taskId),
        HashMap.has(board.comments, command.commentId)
          ? Effect.fail(new CommentAlreadyExists({ commentId: command.commentId }))
          : Effect.succeed([CommentPosted.make({ commentId: command.commentId, taskId, text: command.text })])
      )
  }
}

export const decide = (command: TaskCommand, board: Board): Decision => {
  if (board.closed) return Effect.fail(new BoardIsClosed())
  if (command._tag !== "CloseBoard") return onTask(board, command)
  const stillOpen = Array.from(HashMap.filter(board.tasks, (task) => !task.done).pipe(HashMap.keys)).sort()
  return stillOpen.length > 0
    ? Effect.fail(new OpenTasksRemain({ taskIds: stillOpen }))
    : Effect.succeed([BoardClosed.make({})])
}

export const decider = Decider.make({ initialState: initial, evolve, decide })

// -----------------------------------------------------------------------------
// Registry
// -----------------------------------------------------------------------------

const sameTask = ConflictRegistry.sameKey("taskId")

/**
 * As permissive as is safe on every state an event history can reach. Read a row as "a proposed X conflicts with a
 * committed Y of the same task when ..."; a pair not named passes:
 *
 * - every decision needs an open board, so every type conflicts with BoardClosed;
 * - closing needs every task done, so BoardClosed conflicts with any creation or reopening, whatever the task;
 * - on the same task, a pair conflicts when the two orders give different tasks (a creation resets the task; two
 *   renames, two assignments, an assignment and an unassignment overwrite each other; completing and reopening), or
 *   when the committed event changes what the proposed one was decided on (existence, done, assigned);
 * - a deletion needs only the task, and its events commute with renaming, completing and reopening (those change
 *   nothing on a task that is gone), but an assignment turns it into an unassignment and a deletion;
 * - a comment needs its task and a free comment id: it conflicts with the deletion of its task and with a comment of
 *   the same id;
 * - a creation lets an unassignment or a reopening of the same task pass: a fresh task is already unassigned and open,
 *   and neither makes the task exist.
 */
export const registry = ConflictRegistry.make(TaskEvent).pipe(
  ConflictRegistry.conflicts("TaskCreated", ["BoardClosed"]),
  ConflictRegistry.conflictsWhen("TaskCreated", "TaskCreated", sameTask),
  ConflictRegistry.conflictsWhen("TaskCreated", "TaskRenamed", sameTask),
  ConflictRegistry.conflictsWhen("TaskCreated", "TaskAssigned", sameTask),
  ConflictRegistry.conflictsWhen("TaskCreated", "TaskCompleted", sameTask),
  ConflictRegistry.conflictsWhen("TaskCreated", "TaskDeleted", sameTask),
  ConflictRegistry.conflicts("TaskRenamed", ["BoardClosed"]),
  ConflictRegistry.conflictsWhen("TaskRenamed", "TaskCreated", sameTask),
  ConflictRegistry.conflictsWhen("TaskRenamed", "TaskRenamed", sameTask),
  ConflictRegistry.conflictsWhen("TaskRenamed", "TaskCompleted", sameTask),
  ConflictRegistry.conflictsWhen("TaskRenamed", "TaskDeleted", sameTask),
  ConflictRegistry.conflicts("TaskAssigned", ["BoardClosed"]),
  ConflictRegistry.conflictsWhen("TaskAssigned", "TaskCreated", sameTask),
  ConflictRegistry.conflictsWhen("TaskAssigned", "TaskAssigned", sameTask),
  ConflictRegistry.conflictsWhen("TaskAssigned", "TaskUnassigned", sameTask),
  ConflictRegistry.conflictsWhen("TaskAssigned", "TaskCompleted", sameTask),
  ConflictRegistry.conflictsWhen("TaskAssigned", "TaskDeleted", sameTask)
).pipe(
  ConflictRegistry.conflicts("TaskUnassigned", ["BoardClosed"]),
  ConflictRegistry.conflictsWhen("TaskUnassigned", "TaskCreated", sameTask),
  ConflictRegistry.conflictsWhen("TaskUnassigned", "TaskAssigned", sameTask),
  ConflictRegistry.conflictsWhen("TaskUnassigned", "TaskUnassigned", sameTask),
  ConflictRegistry.conflictsWhen("TaskUnassigned", "TaskDeleted", sameTask),
  ConflictRegistry.conflicts("TaskCompleted", ["BoardClosed"]),
  ConflictRegistry.conflictsWhen("TaskCompleted", "TaskCreated", sameTask),
  ConflictRegistry.conflictsWhen("TaskCompleted", "TaskUnassigned", sameTask),
  ConflictRegistry.conflictsWhen("TaskCompleted", "TaskCompleted", sameTask),
  ConflictRegistry.conflictsWhen("TaskCompleted", "TaskReopened", sameTask),
  ConflictRegistry.conflictsWhen("TaskCompleted", "TaskDeleted", sameTask),
  ConflictRegistry.conflicts("TaskReopened", ["BoardClosed"]),
  ConflictRegistry.conflictsWhen("TaskReopened", "TaskCreated", sameTask),
  ConflictRegistry.conflictsWhen("TaskReopened", "TaskCompleted", sameTask),
  ConflictRegistry.conflictsWhen("TaskReopened", "TaskReopened", sameTask),
  ConflictRegistry.conflictsWhen("TaskReopened", "TaskDeleted", sameTask)
).pipe(
  ConflictRegistry.conflicts("TaskDeleted", ["BoardClosed"]),
  ConflictRegistry.conflictsWhen("TaskDeleted", "TaskCreated", sameTask),
  ConflictRegistry.conflictsWhen("TaskDeleted", "TaskAssigned", sameTask),
  ConflictRegistry.conflictsWhen("TaskDeleted", "TaskDeleted", sameTask),
  ConflictRegistry.conflicts("CommentPosted", ["BoardClosed"]),
  ConflictRegistry.conflictsWhen("CommentPosted", "TaskDeleted", sameTask),
  ConflictRegistry.conflictsWhen("CommentPosted", "CommentPosted", ConflictRegistry.sameKey("commentId")),
  ConflictRegistry.conflicts("BoardClosed", ["BoardClosed", "TaskCreated", "TaskReopened"]),
  ConflictRegistry.exhaustive
)

/**
 * A small, fixed set of commands for exhaustive checks: every command kind on both tasks, with two titles and two
 * assignees so overwrites show, and the same comment id on both tasks.
 */
export const smallCommands: ReadonlyArray<TaskCommand> = [
  ...(["t1", "t2"] as const).flatMap((taskId): ReadonlyArray<TaskCommand> => [
    CreateTask.make({ taskId, title: "draft" }),
    RenameTask.make({ taskId, title: "final" }),
    RenameTask.make({ taskId, title: "later" }),
    AssignTask.make({ taskId, assignee: "ann" }),
    AssignTask.make({ taskId, assignee: "bob" }),
    UnassignTask.make({ taskId }),
    CompleteTask.make({ taskId }),
    ReopenTask.make({ taskId }),
    DeleteTask.make({ taskId }),
    PostComment.make({ commentId: "c1", taskId, text: "hi" })
  ]),
  PostComment.make({ commentId: "c2", taskId: "t1", text: "done?" }),
  CloseBoard.make({})
]
