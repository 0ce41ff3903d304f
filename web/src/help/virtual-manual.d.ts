// The user manual rendered at build time by build/manual.ts (docs/manual/*.md).
declare module 'virtual:manual' {
  export interface ManualSection {
    /** Anchor of the heading. */
    id: string
    /** 2 for a chapter, 3 for a section of it. */
    level: number
    title: string
    /** Rendered HTML of the section's content (markdown-it, raw HTML off), screenshots' URLs filled in. */
    html: string
    /** Plain text of the title and content, for the search. */
    text: string
  }
  export interface ManualShot {
    src: string
    route: string
    title: string
    where: string
  }
  export const sections: ManualSection[]
  export const shots: ManualShot[]
}
