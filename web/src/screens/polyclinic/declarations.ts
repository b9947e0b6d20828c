import type { Bundle, Parameters } from '@medplum/fhirtypes';

/** A care declaration of `Patient/[id]/$care-declarations`: an organization that said it treats the patient. */
export interface CareDeclaration {
  id: string;
  organization: string;
  organizationName: string | undefined;
  kind: string | undefined;
  declared: string | undefined;
  expires: string | undefined;
  status: string | undefined;
}

/** The declarations in the collection Bundle of Parameters the operation returns; one without id or organization is left out. */
export function careDeclarations(bundle: Bundle): CareDeclaration[] {
  return (bundle.entry ?? []).flatMap(({ resource }) => {
    if (resource?.resourceType !== 'Parameters') return [];
    const part = (name: string) => (resource as Parameters).parameter?.find((p) => p.name === name);
    const id = part('id')?.valueString;
    const organization = part('organization')?.valueReference;
    if (!id || !organization?.reference) return [];
    return [{ id, organization: organization.reference, organizationName: organization.display, kind: part('kind')?.valueCode, declared: part('declared')?.valueInstant, expires: part('expires')?.valueInstant, status: part('status')?.valueCode }];
  });
}
