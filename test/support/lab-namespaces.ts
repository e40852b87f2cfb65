/** Teardown of a lab's namespaces: every namespace named `<prefix>-*`, whatever state the test left. */
import { deleteNamespace, listNamespaces } from '../../tools/lab/netns.js';

export async function deleteNamespacesOf(prefix: string): Promise<void> {
  for (const ns of (await listNamespaces()).filter((x) => x.startsWith(`${prefix}-`))) await deleteNamespace(ns).catch(() => undefined);
}
