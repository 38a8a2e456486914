/** The part of madge's API the architecture test uses (madge ships no type declarations). */
declare module 'madge' {
  interface MadgeResult {
    /** File -> the files it imports, paths relative to the scanned folder. */
    obj(): Record<string, string[]>;
    /** Import cycles, each as the list of files in it. */
    circular(): string[][];
  }
  function madge(path: string, config?: { fileExtensions?: string[]; tsConfig?: string }): Promise<MadgeResult>;
  export default madge;
}
