/**
 * The order a task listing must have, computed the plain way in the test, so the repository's
 * SQL and the use cases' cursors are checked against something that shares no code with them.
 */
import { PriorityRank, parseDue, type SortOrder, type Task, type TaskSort } from "@taskport/core"
import { Option } from "effect"

/** Task ids by sort key, then id, both in the listing's direction. */
export const referenceOrder = (
  tasks: ReadonlyArray<Task>,
  sort: TaskSort,
  order: SortOrder
): Array<number> => {
  const key = (task: Task): string | number => {
    switch (sort) {
      case "created_at":
        return task.created_at
      case "updated_at":
        return task.updated_at
      case "due":
        // A task without a due date sorts as if due at the end of time.
        return task.due === null
          ? Number.POSITIVE_INFINITY
          : Option.getOrThrow(parseDue(task.due)).epochMillis
      case "priority":
        return PriorityRank[task.priority]
      case "title":
        return task.title.toLowerCase()
    }
  }
  const sign = order === "asc" ? 1 : -1
  return [...tasks]
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)]
      return sign * (ka < kb ? -1 : ka > kb ? 1 : a.id - b.id)
    })
    .map((task) => task.id)
}
