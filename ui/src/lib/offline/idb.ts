// A small typed wrapper over IndexedDB: promises instead of request events, one
// object store per record type, nothing else. The browser keeps these stores across
// reloads and while offline; the field app's cache and its queue of changes live here.

export interface StoreSpec {
  name: string;
  keyPath: string;
  autoIncrement?: boolean;
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB request failed"));
  });
}

function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
  });
}

/** An open database. Stores are created (never dropped) on a version bump. */
export class Database {
  private constructor(private readonly db: IDBDatabase) {}

  static open(name: string, version: number, stores: StoreSpec[], factory: IDBFactory = indexedDB): Promise<Database> {
    return new Promise((resolve, reject) => {
      const request = factory.open(name, version);
      request.onupgradeneeded = () => {
        const db = request.result;
        for (const spec of stores) {
          if (!db.objectStoreNames.contains(spec.name)) {
            db.createObjectStore(spec.name, { keyPath: spec.keyPath, autoIncrement: spec.autoIncrement ?? false });
          }
        }
      };
      request.onsuccess = () => resolve(new Database(request.result));
      request.onerror = () => reject(request.error ?? new Error("IndexedDB could not be opened"));
      request.onblocked = () => reject(new Error("IndexedDB is held open by another tab"));
    });
  }

  store<T>(name: string): Store<T> {
    return new Store<T>(this.db, name);
  }

  close(): void {
    this.db.close();
  }
}

/** One object store holding records of type T. Each call is its own transaction. */
export class Store<T> {
  constructor(
    private readonly db: IDBDatabase,
    readonly name: string,
  ) {}

  async get(key: IDBValidKey): Promise<T | undefined> {
    const tx = this.db.transaction(this.name, "readonly");
    return (await done(tx.objectStore(this.name).get(key))) as T | undefined;
  }

  /** Every record, in key order. */
  async all(): Promise<T[]> {
    const tx = this.db.transaction(this.name, "readonly");
    return (await done(tx.objectStore(this.name).getAll())) as T[];
  }

  /** Write a record; resolves with its key once the write is durable. */
  async put(value: T): Promise<IDBValidKey> {
    const tx = this.db.transaction(this.name, "readwrite");
    const key = await done(tx.objectStore(this.name).put(value));
    await finished(tx);
    return key;
  }

  /** Replace every record at once (one transaction). */
  async replaceAll(values: T[]): Promise<void> {
    const tx = this.db.transaction(this.name, "readwrite");
    const store = tx.objectStore(this.name);
    store.clear();
    for (const value of values) store.put(value);
    await finished(tx);
  }

  async delete(key: IDBValidKey): Promise<void> {
    const tx = this.db.transaction(this.name, "readwrite");
    tx.objectStore(this.name).delete(key);
    await finished(tx);
  }

  async clear(): Promise<void> {
    const tx = this.db.transaction(this.name, "readwrite");
    tx.objectStore(this.name).clear();
    await finished(tx);
  }
}
