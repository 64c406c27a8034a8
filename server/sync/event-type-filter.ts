import { z } from 'zod';

/** Spec EventFilter: `types` / `not_types`, where `*` matches any run of characters. */
export const EventTypeFilterSchema = z.looseObject({
  types: z.array(z.string().max(255)).max(100).optional(),
  not_types: z.array(z.string().max(255)).max(100).optional(),
});

/** Whether a filter lets an event type through. */
export type EventTypeMatcher = (type: string) => boolean;

export const ALL_TYPES: EventTypeMatcher = () => true;

/** `not_types` wins over `types`; an absent `types` allows everything, an empty one nothing. */
export function eventTypeMatcherOf(filter: z.output<typeof EventTypeFilterSchema> | undefined): EventTypeMatcher {
  if (!filter || (filter.types === undefined && (filter.not_types ?? []).length === 0)) return ALL_TYPES;
  const allowed = filter.types?.map(patternOf);
  const denied = (filter.not_types ?? []).map(patternOf);
  return (type) => !denied.some((pattern) => pattern.test(type)) && (allowed === undefined || allowed.some((pattern) => pattern.test(type)));
}

function patternOf(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}
