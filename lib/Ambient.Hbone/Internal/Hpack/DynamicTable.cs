namespace Ambient.Hbone.Internal.Hpack;

/// <summary>
/// The decoder's dynamic table (RFC 7541 §2.3.2, §4): newest entry at index 0, evicted from the oldest end, size counted as
/// name octets + value octets + 32 per entry. A ring buffer so inserts and evictions never move entries.
/// </summary>
internal sealed class DynamicTable(int maxSize)
{
    private (string Name, string Value)[] _ring = new (string, string)[16];
    private int _head;   // slot of the newest entry
    private int _count;

    public int Count => _count;
    public int Size { get; private set; }
    public int MaxSize { get; private set; } = maxSize;

    public static int EntrySize(string name, string value) => name.Length + value.Length + 32;

    /// <summary>Entry <paramref name="index"/> where 0 is the newest.</summary>
    public (string Name, string Value) this[int index] => _ring[(_head - index + _ring.Length) % _ring.Length];

    public void SetMaxSize(int maxSize)
    {
        MaxSize = maxSize;
        EvictTo(maxSize);
    }

    public void Add(string name, string value)
    {
        int size = EntrySize(name, value);
        // §4.4: an entry larger than the table empties it and is not added.
        EvictTo(MaxSize - size);
        if (size > MaxSize)
            return;
        if (_count == _ring.Length)
            Grow();
        _head = (_head + 1) % _ring.Length;
        _ring[_head] = (name, value);
        _count++;
        Size += size;
    }

    private void EvictTo(int target)
    {
        while (_count > 0 && Size > target)
        {
            var oldest = this[_count - 1];
            Size -= EntrySize(oldest.Name, oldest.Value);
            _ring[(_head - (_count - 1) + _ring.Length) % _ring.Length] = default;
            _count--;
        }
    }

    private void Grow()
    {
        var bigger = new (string, string)[_ring.Length * 2];
        for (int i = 0; i < _count; i++)
            bigger[_count - 1 - i] = this[i];
        _ring = bigger;
        _head = _count - 1;
    }
}
