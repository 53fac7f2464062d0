/**
 * The template filter's source as the editor shows it ("New filter"): template.ts itself, with
 * its imports from 'vaio' (the module the custom filter sandbox provides), so what authors start
 * from is exactly the file the tests run.
 */
import templateFile from './template.ts?raw';

export const TEMPLATE_SOURCE: string = templateFile.replace(/from '\.\/authoring'/g, "from 'vaio'");
