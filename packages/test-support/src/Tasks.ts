/**
 * Tasks as the repository takes them, for suites that write below the use cases: a title,
 * and plain values for every other field unless the suite says otherwise.
 */
import type { NewTask } from "@taskport/core"

export const newTask = (title: string, fields: Partial<NewTask> = {}): NewTask => ({
  title,
  description: null,
  priority: "medium",
  due: null,
  tags: [],
  ...fields
})
