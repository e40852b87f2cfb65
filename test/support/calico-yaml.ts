/** A multi-document Calico v3 YAML file from resource bodies (`kind: ...\nmetadata: ...\nspec: ...`). */
export function calicoDocuments(docs: readonly string[]): string {
  return docs.map((d) => `apiVersion: projectcalico.org/v3\n${d}\n`).join('---\n');
}
